// Subscribers of contractStatusChanged for bench/subscriptions.py: a graphql-ws reference
// client (its own WebSocket) per token in the tokens file (a JSON list). Prints "ready" once
// all are connected, then one JSON line per contract once `receipts` subscribers have its
// event: the arrival times, read from CLOCK_MONOTONIC (process.hrtime), which Python's
// time.monotonic_ns() reads too.
// Usage: node bench/subscribers.mjs <ws url> <tokens file> <receipts per event>
// Needs the packages of tests/node (npm ci --prefix tests/node; `make test` does it).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(new URL("../tests/node/package.json", import.meta.url));
const { createClient } = require("graphql-ws");
const WebSocket = require("ws");

const [url, tokensFile, receipts] = process.argv.slice(2);
const tokens = JSON.parse(readFileSync(tokensFile, "utf8"));
const query = "subscription { contractStatusChanged { cursor contractId newStatus } }";
const arrivals = new Map();
let connected = 0;

for (const token of tokens) {
  const client = createClient({
    url,
    webSocketImpl: WebSocket,
    connectionParams: { Authorization: `Bearer ${token}` },
    lazy: false,
    retryAttempts: 0,
    on: { connected: () => { if (++connected === tokens.length) console.log("ready"); } },
  });
  client.subscribe({ query }, {
    next: ({ data, errors }) => {
      const at = process.hrtime.bigint();
      if (errors) { console.error(JSON.stringify(errors)); process.exit(1); }
      const id = data.contractStatusChanged.contractId;
      const times = arrivals.get(id) ?? [];
      times.push(at);
      arrivals.set(id, times);
      if (times.length === Number(receipts)) {
        arrivals.delete(id);
        console.log(JSON.stringify({ contractId: id, arrivals: times.map(String) }));
      }
    },
    error: (err) => { console.error(String(err?.message ?? JSON.stringify(err))); process.exit(1); },
    complete: () => {},
  });
}
