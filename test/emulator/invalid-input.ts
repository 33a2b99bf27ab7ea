/** Bad input to the control API: answered with HTTP 400 and this message. */
export class InvalidInput extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidInput";
  }
}
