import { monotonic, type Clock } from "../api/clock.ts";
import type { MutatingAction } from "./actions.ts";
import type { EcmClient } from "./client.ts";
import { accountOf, type CredentialSource } from "./credentials.ts";
import { TICKET_HORIZON_MS, type Ticket } from "./rate-limiter.ts";
import { MutatingResponseSchema, type MutatingResponse } from "./responses.ts";

const MAX_AWAY_MS = TICKET_HORIZON_MS / 2;
/** How often a holder looks at its ticket again while its account wins back its allowance. */
const RECOVERY_RECHECK_MS = 1_000;

export type MutatingParams = Readonly<{ NetworkInterfaceId: string; InstanceId: string; EcmRegion: string }>;

export type TurnResult =
  | { readonly kind: "called"; readonly response: MutatingResponse }
  /** The key's turn is later: its place in line is kept, and it should come back after this long. */
  | { readonly kind: "comeBack"; readonly afterMs: number };

/** Mutating ECM calls in turn, for callers identified by a key (a resource). Throws EcmError. */
export interface MutatingCalls {
  call(key: string, action: MutatingAction, params: MutatingParams, source: CredentialSource): Promise<TurnResult>;
  /** The key will not make the call it waits for: its place goes to the callers behind it. */
  release(key: string): void;
}

export interface CallTurnsOptions {
  /** A caller waits this long at most for its turn; a later turn gives the caller back. */
  readonly maxWaitMs: number;
  /** A caller given back returns this much ahead of its turn, time enough to observe again. */
  readonly returnAheadMs: number;
  /** The limiters' clock, which tickets' times are read on. */
  readonly now?: Clock;
}

/**
 * Quota turns for mutating calls. Each call takes a ticket in its (account, action) line; a caller
 * whose turn is more than `maxWaitMs` away keeps the ticket, gives its worker back and is told to
 * return `returnAheadMs` ahead of its turn, so a backlog of one kind of call does not starve the
 * workers other keys need (confirmations). A call started late would push every later one back, so
 * the returning caller's turn is the one it held.
 */
export class CallTurns implements MutatingCalls {
  private readonly client: EcmClient;
  private readonly options: CallTurnsOptions;
  private readonly held = new Map<string, { action: MutatingAction; account: string; ticket: Ticket }>();

  constructor(client: EcmClient, options: CallTurnsOptions) {
    this.client = client;
    this.options = options;
  }

  async call(
    key: string,
    action: MutatingAction,
    params: MutatingParams,
    source: CredentialSource,
  ): Promise<TurnResult> {
    const credential = await this.client.credential(action, source).catch((error: unknown) => {
      this.release(key);
      throw error;
    });
    const account = accountOf(credential);
    const ticket = this.ticketFor(key, action, account);
    const waitMs = ticket.at - (this.options.now ?? monotonic)();
    if (waitMs > this.options.maxWaitMs) {
      this.held.set(key, { action, account, ticket });
      // A ticket's time moves forward while its account's allowance recovers: its holder looks again
      // soon then. Otherwise it is back at least this often (a ticket not looked at for a minute is dropped).
      const awayMs = ticket.recovering ? RECOVERY_RECHECK_MS : MAX_AWAY_MS;
      return { kind: "comeBack", afterMs: Math.min(waitMs - this.options.returnAheadMs, awayMs) };
    }
    const response = await this.client.call(action, params, credential, MutatingResponseSchema, ticket);
    return { kind: "called", response };
  }

  release(key: string): void {
    this.held.get(key)?.ticket.cancel();
    this.held.delete(key);
  }

  /** The ticket this key took earlier for the same action and account, or a new one. */
  private ticketFor(key: string, action: MutatingAction, account: string): Ticket {
    const held = this.held.get(key);
    this.held.delete(key);
    if (held?.action === action && held.account === account) return held.ticket;
    held?.ticket.cancel();
    return this.client.reserve(action, account);
  }
}
