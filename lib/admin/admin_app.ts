/**
 * `deno task admin [--data DIR] <command>`: the operator's tool. It works on the data directory
 * whether the server runs or not (Deno KV allows a second process).
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { isLockedOut } from "../auth/lockout.ts";
import { DEFAULT_SERVER_CONFIG } from "../config.ts";
import { formatTimestamp } from "../protocol/timestamp.ts";
import { foldName } from "../protocol/names.ts";
import { KV_FILE, openKvStore } from "../store/kv_store.ts";
import { DataDirInUse, DataDirLock } from "../store/data_dir_lock.ts";
import {
  closeQuietly,
  connectRedis,
  redactUrl,
  redisCall,
  type RedisClient,
  redisUrlProblem,
  withPassword,
} from "../store/redis_client.ts";
import { RedisStore } from "../store/redis_store.ts";
import { primaryUrl } from "../store/sentinel.ts";
import { appendChange } from "../server/cluster/changes_stream.ts";
import { entriesOf, ONLINE_KEY } from "../server/cluster/presence_entries.ts";
import type { Store } from "../store/store.ts";
import { backup, lockForAdmin, restore } from "./backup.ts";
import { rebuildSearchIndex } from "./reindex.ts";
import { parseCredentials } from "./credentials.ts";
import { exportAll } from "./export.ts";
import { addUser, AdminError, deleteUser, setPassword, unlockUser } from "./user_admin.ts";

/** Where the tool reads passwords and writes what it has to say. */
export interface AdminIo {
  /** Asks for a password (masked on a terminal); `undefined` at end of input. */
  askPassword(prompt: string): Promise<string | undefined>;
  /** Whether passwords are typed by a person (asked twice) or piped in (read once). */
  readonly interactive: boolean;
  out(line: string): void;
  err(line: string): void;
}

const COMMANDS: Record<string, string> = {
  "user add": `Usage: deno task admin [--data DIR] user add NAME [--admin]
Creates an account. The password is asked twice (masked) on a terminal, or read as one line from
standard input: echo 'root01' | deno task admin user add root --admin
--admin gives the account the admin role (SHUTDOWN without the admin password).`,
  "user passwd": `Usage: deno task admin [--data DIR] user passwd NAME
Sets a new password, asked like user add's. The old one is not needed.`,
  "user delete": `Usage: deno task admin [--data DIR] user delete NAME
Deletes an account and its lockout state. Its messages stay in the history.`,
  "user list": `Usage: deno task admin [--data DIR] user list
Lists accounts: name, admin, created, last login, and whether a lockout holds now.`,
  "user unlock": `Usage: deno task admin [--data DIR] user unlock NAME
Lifts a lockout after too many failed logins.`,
  "user role": `Usage: deno task admin [--data DIR] user role NAME admin|user
Grants or takes the admin role.`,
  "user import": `Usage: deno task admin [--data DIR] user import FILE [--replace]
Creates accounts from a credentials file: "username password" per line, as the forum and toom
keep them, optionally followed by "admin". Blank lines and # comments are skipped. Passwords are
hashed; the plain text is never stored. Bad lines are reported with their numbers and nothing of
them is imported. Existing accounts are skipped unless --replace sets their password and role.`,
  export: `Usage: deno task admin [--data DIR] export [--out DIR]
Writes toom's userlog.txt, messagelog.txt and SR_<id>_messageLog.txt, and JSON lines of users
(no password hashes), logins, broadcasts, private messages, rooms, room messages, threads and
posts into DIR (default export/).`,
  backup: `Usage: deno task admin [--data DIR] backup FILE
Writes a consistent archive (tar) of the database and forum files, also while the server runs.`,
  restore: `Usage: deno task admin [--data DIR] restore FILE
Unpacks an archive made by backup into the data directory, which must be missing or empty.`,
  sessions: `Usage: deno task admin --cluster URL sessions NAME
Lists a user's sessions on every node: id, client, address, node, since.`,
  "sessions end": `Usage: deno task admin --cluster URL sessions end NAME ID
Ends one session of a user (its id from sessions); the user's client is told the operator ended it.`,
  reindex: `Usage: deno task admin [--data DIR] reindex
Rebuilds the search index from the store (stop the server first; it also catches up by itself
when it starts). The index is derived data: deleting it loses nothing.`,
};

/** The tool's help. */
export const ADMIN_USAGE = `labchat operator tool

Usage: deno task admin [--data DIR] <command> [arguments]

Commands:
  user add NAME [--admin]        create an account whose password you choose
  user passwd NAME               set a new password
  user delete NAME               delete an account
  user list                      accounts: name, admin, created, last login, locked
  user unlock NAME               lift a lockout
  user role NAME admin|user      grant or take the admin role
  user import FILE [--replace]   accounts from a credentials file ("name password [admin]")
  export [--out DIR]             the seeds' log files and JSON lines of everything
  backup FILE                    a consistent archive, also while the server runs
  restore FILE                   an archive into an empty data directory
  reindex                        rebuild the search index from the store
  sessions NAME                  a user's sessions on every node (--cluster)
  sessions end NAME ID           end one of them (--cluster)

--data DIR is the server's data directory (default data). With --cluster redis://HOST:PORT the
accounts, lockouts and export are those of a cluster's Redis (password from LABCHAT_REDIS_PASSWORD),
and running nodes forget what they cached of a changed account; back a cluster up with Redis's own
persistence and a copy of the shared data directory. Add --help to a command for details.`;

const CLUSTER_BACKUP =
  "A cluster keeps its data in Redis: back it up with Redis's own persistence (its append-only file, or BGSAVE) and a copy of the shared data directory's blobs";

class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Exit statuses of the tool. */
export const AdminExit = { OK: 0, FAILED: 1, USAGE: 2 } as const;

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/**
 * Fails at once when another process holds the database's write lock (Deno KV would wait for it
 * without end); a running server never holds it for long.
 */
function checkNotLocked(database: string): void {
  const db = new DatabaseSync(database, { timeout: 3000 });
  try {
    db.exec("BEGIN IMMEDIATE");
    db.exec("ROLLBACK");
  } catch (error) {
    if (error instanceof Error && /locked|busy/i.test(error.message)) {
      throw new AdminError("The database is locked by another process; try again in a moment");
    }
    throw error;
  } finally {
    db.close();
  }
}

/**
 * Opens the embedded store; `create` allows a new data directory (accounts made before a first
 * start). With no server running, the tool holds the data directory's lock until `release`, so
 * none starts meanwhile. Beside a running server it works through the same database: each of its
 * writes is one transaction, as the server's are, it hands out no numbers the server keeps in
 * memory, and the server reads an account afresh at every login.
 */
async function openStore(
  dataDir: string,
  create: boolean,
  io: AdminIo,
  hold: (lock: DataDirLock) => void,
): Promise<Store> {
  const database = join(dataDir, KV_FILE);
  if (!(await exists(database))) {
    if (!create) {
      throw new AdminError(
        `No labchat data in ${dataDir}: start the server once, or give the right --data DIR`,
      );
    }
    io.out(`Creating a data directory in ${dataDir}`);
  } else {
    checkNotLocked(database);
  }
  try {
    const lock = await DataDirLock.acquire(dataDir, "exclusive", "admin");
    hold(lock);
    if (lock.notice) io.err(`Warning: ${lock.notice}`);
  } catch (error) {
    if (!(error instanceof DataDirInUse)) throw error; // a server runs: see above
  }
  try {
    const { store, warnings } = await openKvStore(dataDir);
    for (const warning of warnings) io.err(`Warning: ${warning}`);
    return store;
  } catch (error) {
    if (error instanceof Error && /locked|busy/i.test(error.message)) {
      throw new AdminError("The database is locked by another process; try again in a moment");
    }
    throw error;
  }
}

/** What the tool works on: a data directory's embedded store, or a cluster's Redis. */
interface Target extends Disposable {
  open(create: boolean): Promise<Store>;
  /** Tells running nodes that an account changed (a cluster's nodes cache accounts briefly). */
  accountChanged(name: string): Promise<void>;
  readonly cluster: boolean;
  /** A connection to the cluster's Redis (a cluster only). */
  redis?(): Promise<RedisClient>;
}

function targetOf(dataDir: string, cluster: string | undefined, io: AdminIo): Target {
  if (cluster === undefined) {
    let lock: DataDirLock | undefined;
    return {
      open: (create) => openStore(dataDir, create, io, (held) => lock = held),
      accountChanged: () => Promise.resolve(),
      cluster: false,
      [Symbol.dispose]: () => lock?.release(),
    };
  }
  const problem = redisUrlProblem(cluster);
  if (problem) throw new UsageError(`--cluster: ${problem}`);
  const url = withPassword(cluster, Deno.env.get("LABCHAT_REDIS_PASSWORD"));
  const connect = async () => {
    try {
      return await connectRedis({
        url: await primaryUrl(url),
        role: "admin",
        log: (line) => io.err(line),
      });
    } catch (error) {
      const cause = error instanceof Error && error.cause !== undefined ? error.cause : error;
      throw new AdminError(`Cannot reach Redis at ${redactUrl(url)}: ${cause}`);
    }
  };
  return {
    open: async () => await RedisStore.open(await connect()),
    async accountChanged(name) {
      const client = await connect();
      try {
        await appendChange(
          client,
          JSON.stringify({ node: "admin", change: { kind: "account", name } }),
        );
      } finally {
        await closeQuietly(client);
      }
    },
    cluster: true,
    redis: connect,
    [Symbol.dispose]() {},
  };
}

/** The shortest password the server lets people choose; shorter ones given here are named. */
const MIN_LENGTH = DEFAULT_SERVER_CONFIG.minPasswordLength;

/** Names accounts whose passwords are shorter than the server would let people choose. */
function weakPasswords(names: readonly string[]): string {
  return `Weak password${names.length === 1 ? "" : "s"} (under ${MIN_LENGTH} characters) for ${
    names.join(", ")
  }: change ${names.length === 1 ? "it" : "them"} with: deno task admin user passwd NAME`;
}

/** A new password: asked twice on a terminal, read once from a pipe. */
async function newPassword(io: AdminIo, name: string): Promise<string> {
  const first = await io.askPassword(`Password for ${name}: `);
  if (first === undefined || first === "") throw new AdminError("No password given");
  if (io.interactive) {
    const again = await io.askPassword("Again: ");
    if (again !== first) throw new AdminError("The passwords do not match; nothing was changed");
  }
  return first;
}

function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i])).join("  ").trimEnd());
}

/** Runs the tool with its arguments; returns the exit status. */
export async function runAdmin(argv: string[], io: AdminIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        data: { type: "string" },
        admin: { type: "boolean" },
        replace: { type: "boolean" },
        out: { type: "string" },
        cluster: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    io.err(`admin: ${error instanceof Error ? error.message : error}`);
    io.err("Try --help for usage.");
    return AdminExit.USAGE;
  }
  const { values, positionals } = parsed;
  const dataDir = values.data ?? DEFAULT_SERVER_CONFIG.dataDir;
  const [area, verb] = positionals;
  const command = area === "user"
    ? `user ${verb ?? ""}`.trim()
    : area === "sessions" && verb === "end"
    ? "sessions end"
    : area;
  if (values.help || command === undefined) {
    io.out(COMMANDS[command ?? ""] ?? ADMIN_USAGE);
    return AdminExit.OK;
  }
  try {
    using target = targetOf(dataDir, values.cluster, io);
    return await run(command, positionals, values, dataDir, target, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`admin: ${error.message}`);
      io.err(COMMANDS[command] ?? "Try --help for usage.");
      return AdminExit.USAGE;
    }
    if (error instanceof AdminError) {
      io.err(`admin: ${error.message}`);
      return AdminExit.FAILED;
    }
    throw error;
  }
}

async function run(
  command: string,
  positionals: string[],
  values: { admin?: boolean; replace?: boolean; out?: string },
  dataDir: string,
  target: Target,
  io: AdminIo,
): Promise<number> {
  const operands = command.startsWith("user ") || command === "sessions end"
    ? positionals.slice(2)
    : positionals.slice(1);
  const expect = (count: number) => {
    if (operands.length !== count) throw new UsageError(`Wrong number of arguments to ${command}`);
  };
  const options = { scryptCost: DEFAULT_SERVER_CONFIG.scryptCost };
  switch (command) {
    case "user add": {
      expect(1);
      const password = await newPassword(io, operands[0]);
      await using store = await target.open(true);
      const user = await addUser(store, operands[0], password, values.admin ?? false, options);
      if (password.length < MIN_LENGTH) io.err(`Warning: ${weakPasswords([user.name])}`);
      io.out(`Created ${user.name}${user.role === "admin" ? " (admin)" : ""}`);
      return AdminExit.OK;
    }
    case "user passwd": {
      expect(1);
      await using store = await target.open(false);
      if (!(await store.getUser(operands[0]))) throw new AdminError(`No such user: ${operands[0]}`);
      const password = await newPassword(io, operands[0]);
      await setPassword(store, operands[0], password, options);
      if (password.length < MIN_LENGTH) io.err(`Warning: ${weakPasswords([operands[0]])}`);
      await target.accountChanged(operands[0]);
      io.out(`Password of ${operands[0]} changed`);
      return AdminExit.OK;
    }
    case "user delete": {
      expect(1);
      await using store = await target.open(false);
      await deleteUser(store, operands[0]);
      await target.accountChanged(operands[0]);
      io.out(`Deleted ${operands[0]}`);
      return AdminExit.OK;
    }
    case "user unlock": {
      expect(1);
      await using store = await target.open(false);
      await unlockUser(store, operands[0]);
      io.out(`Unlocked ${operands[0]}`);
      return AdminExit.OK;
    }
    case "user role": {
      expect(2);
      const role = operands[1];
      if (role !== "admin" && role !== "user") {
        throw new UsageError('The role is "admin" or "user"');
      }
      await using store = await target.open(false);
      if (!(await store.updateUser(operands[0], { role }))) {
        throw new AdminError(`No such user: ${operands[0]}`);
      }
      await target.accountChanged(operands[0]);
      io.out(`${operands[0]} is now ${role === "admin" ? "an admin" : "a user"}`);
      return AdminExit.OK;
    }
    case "user list": {
      expect(0);
      await using store = await target.open(false);
      const seen = await store.loadSeen();
      const rows = [["NAME", "ADMIN", "CREATED", "LAST LOGIN", "LOCKED"]];
      const users = (await store.listUsers()).sort((a, b) => a.name.localeCompare(b.name));
      for (const user of users) {
        const last = seen.get(user.name)?.lastLogin;
        const now = Date.now();
        const locked = (await store.listLockouts(user.name)).some((l) => isLockedOut(l, now));
        rows.push([
          user.name,
          user.role === "admin" ? "yes" : "no",
          formatTimestamp(user.createdAt),
          last ? formatTimestamp(last) : "never",
          locked ? "yes" : "no",
        ]);
      }
      table(rows).forEach((line) => io.out(line));
      io.out(`${users.length} account${users.length === 1 ? "" : "s"}`);
      return AdminExit.OK;
    }
    case "sessions":
    case "sessions end": {
      expect(command === "sessions" ? 1 : 2);
      if (!target.redis) {
        throw new AdminError(
          "A single server keeps its sessions in memory: log in as an admin and use SESSIONS NAME and SESSIONS END ID (this tool reads them from Redis with --cluster)",
        );
      }
      const client = await target.redis();
      try {
        return await sessionsCommand(client, operands, command === "sessions end", io);
      } finally {
        await closeQuietly(client);
      }
    }
    case "user import":
      expect(1);
      return await importFile(operands[0], values.replace ?? false, target, io);
    case "export": {
      expect(0);
      await using store = await target.open(false);
      const out = values.out ?? "export";
      const counts = await exportAll(store, out);
      for (const [file, lines] of Object.entries(counts)) {
        io.out(`${join(out, file)}: ${lines} lines`);
      }
      return AdminExit.OK;
    }
    case "backup": {
      expect(1);
      if (target.cluster) throw new AdminError(CLUSTER_BACKUP);
      const summary = await backup(dataDir, operands[0]);
      const dropped = summary.dropped > 0
        ? `; ${summary.dropped} file(s) removed meanwhile were left out with their posts`
        : "";
      io.out(
        `Wrote ${
          operands[0]
        }: database and ${summary.files} forum file(s), ${summary.bytes} bytes${dropped}`,
      );
      return AdminExit.OK;
    }
    case "reindex": {
      expect(0);
      if (target.cluster) {
        throw new AdminError(
          "Each node of a cluster keeps its own index and catches up from Redis when it starts",
        );
      }
      using _lock = await lockForAdmin(dataDir);
      await using store = await target.open(false);
      const count = await rebuildSearchIndex(store, dataDir);
      io.out(`Rebuilt the search index of ${dataDir}: ${count} entries`);
      return AdminExit.OK;
    }
    case "restore": {
      expect(1);
      if (target.cluster) throw new AdminError(CLUSTER_BACKUP);
      const { files } = await restore(operands[0], dataDir);
      io.out(`Restored ${operands[0]} into ${dataDir}: database and ${files} forum file(s)`);
      return AdminExit.OK;
    }
    default:
      throw new UsageError(`Unknown command "${command}"`);
  }
}

async function importFile(
  path: string,
  replace: boolean,
  target: Target,
  io: AdminIo,
): Promise<number> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw new AdminError(`No such file: ${path}`);
    if (error instanceof TypeError) throw new AdminError(`${path} is not a text file`);
    throw error;
  }
  const { entries, problems } = parseCredentials(text);
  for (const problem of problems) io.err(`${path}:${problem.line}: ${problem.message}`);
  await using store = await target.open(true);
  const options = { scryptCost: DEFAULT_SERVER_CONFIG.scryptCost };
  let created = 0;
  let replaced = 0;
  let skipped = 0;
  const weak: string[] = [];
  for (const entry of entries) {
    const role = entry.admin ? "admin" : "user";
    if (await store.getUser(entry.name)) {
      if (!replace) {
        skipped++;
        io.out(`${path}:${entry.line}: ${entry.name} exists; skipped (--replace to overwrite)`);
        continue;
      }
      await setPassword(store, entry.name, entry.password, options, role);
      await target.accountChanged(entry.name);
      replaced++;
    } else {
      await addUser(store, entry.name, entry.password, entry.admin, options);
      created++;
    }
    if (entry.password.length < MIN_LENGTH) weak.push(entry.name);
  }
  // The seeds' passwords are short; they are imported as they are, and named.
  if (weak.length > 0) io.out(weakPasswords(weak));
  io.out(
    `Imported ${path}: ${created} created, ${replaced} replaced, ${skipped} skipped, ${problems.length} bad line(s)`,
  );
  return problems.length > 0 ? AdminExit.FAILED : AdminExit.OK;
}

/** Lists a user's sessions from the cluster's hash of who is online, or ends one of them. */
async function sessionsCommand(
  client: RedisClient,
  [name, id]: string[],
  end: boolean,
  io: AdminIo,
): Promise<number> {
  const json = await redisCall(() => client.hGet(ONLINE_KEY, foldName(name)));
  const sessions = (json ? entriesOf(json) : []).flatMap((entry) =>
    Array.isArray(entry.info) ? entry.info : []
  );
  if (!end) {
    const rows = [["ID", "CLIENT", "ADDRESS", "NODE", "SINCE"]];
    for (const s of sessions) {
      rows.push([s.id, s.client, s.ip, s.node ?? "", formatTimestamp(s.since)]);
    }
    table(rows).forEach((line) => io.out(line));
    io.out(`${sessions.length} session${sessions.length === 1 ? "" : "s"} of ${name}`);
    return AdminExit.OK;
  }
  if (!sessions.some((s) => s.id === id)) {
    throw new AdminError(`${name} has no session ${id}; sessions ${name} lists them`);
  }
  const text = "This session was ended by the operator";
  const change = {
    kind: "kill",
    name: sessions.length > 0 ? userOf(json) ?? name : name,
    text,
    reason: "Session ended by the operator",
    only: id,
  };
  await appendChange(client, JSON.stringify({ node: "admin", change }));
  io.out(`Session ${id} of ${name} ends`);
  return AdminExit.OK;
}

/** The canonical name in a hash value (its entries name the user as the account spells it). */
function userOf(json: string | null): string | undefined {
  return json ? entriesOf(json)[0]?.user.name : undefined;
}
