/// <reference lib="dom" />
/**
 * The page's entry point, bundled to `app.js` by `deno task web`.
 * @module
 */

import { WebApp } from "./app.ts";

const root = document.getElementById("app");
if (root) void new WebApp(root).start();
