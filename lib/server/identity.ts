/**
 * Who a logged-in client is: decided once at login from the account and the server's
 * configuration, and never written back to storage.
 * @module
 */

/** A logged-in user as every handler sees it. */
export class Identity {
  /** The account's name as registered (its canonical spelling). */
  readonly name: string;
  /** Holds the admin role for this session. */
  readonly admin: boolean;
  /** When this login happened, epoch ms. */
  readonly loginAt: number;
  /** A guest: an IRC nick without an account, for this connection only. */
  readonly guest: boolean;

  constructor(name: string, admin: boolean, loginAt: number, guest = false) {
    this.name = name;
    this.admin = admin;
    this.loginAt = loginAt;
    this.guest = guest;
  }
}
