/**
 * What the server counts for an operator's monitoring, shown on the web port as Prometheus text
 * (`/metrics`), and whether it can serve (`/healthz`, for a load balancer). Counting is one
 * integer addition on the paths it watches; everything else is read when scraped.
 * @module
 */

/** Counters the server increments as things happen. */
export class Counters {
  logins = 0;
  requests = 0;
  /** Frames read from clients (requests, lines, unreadable lines): activity, for the collector. */
  frames = 0;
  /** Connections to Redis lost (a cluster's node). */
  redisDisconnects = 0;
}

/** One gauge's samples: label values → value. */
export type Samples = ReadonlyMap<string, number> | number;

/** What a scrape reads besides the counters. */
export interface MetricsSources {
  readonly counters: Counters;
  /** Open connections by front end: tcp, irc, ws. */
  connections(): ReadonlyMap<string, number>;
  /** Users online in the whole cluster, and on this node. */
  usersOnline(): number;
  usersHere(): number;
  /** Events handed to connections (a broadcast to 1000 users counts 1000). */
  deliveries(): number;
  /** Whether the store answers now (a cluster's Redis). */
  storeUp(): boolean;
  /** Seconds since the server started. */
  uptimeSeconds(): number;
}

/** One metric: name, type, help, samples. */
interface Metric {
  readonly name: string;
  readonly type: "counter" | "gauge";
  readonly help: string;
  readonly label?: string;
  readonly samples: Samples;
}

/** Prometheus' text exposition format (version 0.0.4) for some metrics. */
export function formatMetrics(metrics: readonly Metric[]): string {
  const lines: string[] = [];
  for (const metric of metrics) {
    lines.push(`# HELP ${metric.name} ${metric.help}`, `# TYPE ${metric.name} ${metric.type}`);
    if (typeof metric.samples === "number") lines.push(`${metric.name} ${metric.samples}`);
    else {
      for (const [value, sample] of metric.samples) {
        lines.push(`${metric.name}{${metric.label}="${escapeLabel(value)}"} ${sample}`);
      }
    }
  }
  return lines.join("\n") + "\n";
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** The server's metrics now. */
export function readMetrics(sources: MetricsSources): string {
  const { counters } = sources;
  return formatMetrics([
    {
      name: "labchat_connections",
      type: "gauge",
      help: "Open connections by front end.",
      label: "frontend",
      samples: sources.connections(),
    },
    {
      name: "labchat_users_online",
      type: "gauge",
      help: "Users online (the whole cluster).",
      samples: sources.usersOnline(),
    },
    {
      name: "labchat_users_here",
      type: "gauge",
      help: "Users online on this server.",
      samples: sources.usersHere(),
    },
    {
      name: "labchat_logins_total",
      type: "counter",
      help: "Logins since start.",
      samples: counters.logins,
    },
    {
      name: "labchat_requests_total",
      type: "counter",
      help: "Requests handled since start.",
      samples: counters.requests,
    },
    {
      name: "labchat_deliveries_total",
      type: "counter",
      help: "Events handed to connections since start.",
      samples: sources.deliveries(),
    },
    {
      name: "labchat_redis_disconnects_total",
      type: "counter",
      help: "Connections to Redis lost since start (a cluster's node).",
      samples: counters.redisDisconnects,
    },
    {
      name: "labchat_store_up",
      type: "gauge",
      help: "1 when the store answers, 0 when it is unreachable.",
      samples: sources.storeUp() ? 1 : 0,
    },
    {
      name: "labchat_uptime_seconds",
      type: "gauge",
      help: "Seconds since the server started.",
      samples: Math.round(sources.uptimeSeconds()),
    },
    {
      name: "process_resident_memory_bytes",
      type: "gauge",
      help: "Resident memory of the server process.",
      samples: Deno.memoryUsage().rss,
    },
  ]);
}
