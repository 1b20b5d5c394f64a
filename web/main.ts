/// <reference lib="dom" />
/**
 * The page's entry point, bundled to `app.js` by `deno task web`.
 * @module
 */

import { describe } from "./api.ts";
import { WebApp } from "./app.ts";

const root = document.getElementById("app");
if (root) {
  const app = new WebApp(root);
  // Whatever goes wrong in the page is shown to the user, not only logged to the console.
  addEventListener("error", (e) => app.showProblem(`The page hit an error: ${e.message}`));
  addEventListener("unhandledrejection", (e) => {
    app.showProblem(`The page hit an error: ${describe(e.reason)}`);
  });
  void app.start();
}
