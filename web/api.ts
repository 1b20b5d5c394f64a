/// <reference lib="dom" />
/**
 * What the page asks over HTTP: signing in and out (the session lives in an HttpOnly cookie the
 * page never sees), and forum files, checked with SHA-256 both ways.
 * @module
 */

/** A reply of the server: a protocol code and its text. */
export interface Answer {
  readonly code: number;
  readonly text: string;
}

async function answerOf(response: Response): Promise<Answer> {
  try {
    return await response.json() as Answer;
  } catch {
    return {
      code: response.status >= 500 ? 500 : 400,
      text: `The server answered ${response.status}`,
    };
  }
}

/** Logs in (or registers): on success the browser holds the session cookie. */
export async function signIn(user: string, password: string, register: boolean): Promise<Answer> {
  const response = await fetch("/api/session", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ user, password, register }),
  });
  return answerOf(response);
}

/** Ends the web session. */
export async function signOut(): Promise<void> {
  await fetch("/api/session", { method: "DELETE" }).catch(() => undefined);
}

/** SHA-256 of bytes, hex. */
export async function sha256(bytes: ArrayBuffer): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Uploads a file to a thread, reporting progress; resolves with the server's answer. */
export async function uploadFile(
  thread: string,
  file: File,
  onProgress: (done: number, total: number) => void,
): Promise<Answer> {
  const bytes = await file.arrayBuffer();
  const hash = await sha256(bytes);
  const query = new URLSearchParams({
    thread,
    name: file.name,
    size: String(bytes.byteLength),
    sha256: hash,
  });
  return await new Promise<Answer>((resolve) => {
    const request = new XMLHttpRequest();
    request.open("POST", `/api/files/upload?${query}`);
    request.upload.onprogress = (e) => onProgress(e.loaded, e.total || bytes.byteLength);
    request.onload = () => {
      try {
        resolve(JSON.parse(request.responseText) as Answer);
      } catch {
        resolve({ code: 500, text: `The server answered ${request.status}` });
      }
    };
    request.onerror = () => resolve({ code: 500, text: "The upload was cut off" });
    request.send(bytes);
  });
}

/** A downloaded file: its bytes once verified, or why not. */
export type Downloaded =
  | { readonly ok: true; readonly blob: Blob; readonly sha256: string }
  | { readonly ok: false; readonly text: string };

/** Downloads a thread's file with progress, and checks its SHA-256 before handing it over. */
export async function downloadFile(
  thread: string,
  name: string,
  onProgress: (done: number, total: number) => void,
): Promise<Downloaded> {
  const query = new URLSearchParams({ thread, name });
  const response = await fetch(`/api/files/download?${query}`);
  if (!response.ok || !response.body) return { ok: false, ...(await answerOf(response)) };
  const expected = response.headers.get("x-labchat-sha256") ?? "";
  const total = Number(response.headers.get("content-length") ?? 0);
  const parts: Uint8Array[] = [];
  let done = 0;
  for await (const chunk of response.body) {
    parts.push(chunk);
    done += chunk.length;
    onProgress(done, total);
  }
  const bytes = new Uint8Array(done);
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.length;
  }
  const actual = await sha256(bytes.buffer);
  if (actual !== expected) {
    return {
      ok: false,
      text: `${name} arrived damaged (its SHA-256 does not match); nothing was saved`,
    };
  }
  return { ok: true, blob: new Blob([bytes]), sha256: actual };
}
