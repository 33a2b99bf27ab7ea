/** Where an HTTP endpoint listens: `:8080` is host 0.0.0.0, port 8080. */
export interface BindAddress {
  readonly host: string;
  readonly port: number;
}
