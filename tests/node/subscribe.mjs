// The graphql-ws reference client: subscribe to one contract's status changes and print
// each as a JSON line. Usage: node subscribe.mjs <ws url> <token> <contract id> <count>
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const [url, token, contractId, count] = process.argv.slice(2);
const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: { Authorization: `Bearer ${token}` },
  retryAttempts: 0,
});
const timer = setTimeout(() => { console.error("timed out"); process.exit(2); }, 30000);
let seen = 0;
const query = `subscription ($id: ID) { contractStatusChanged(contractId: $id) {
  cursor contractId oldStatus newStatus action } }`;
const stop = client.subscribe({ query, variables: { id: contractId } }, {
  next: ({ data, errors }) => {
    if (errors) { console.error(JSON.stringify(errors)); process.exit(1); }
    console.log(JSON.stringify(data.contractStatusChanged));
    if (++seen === Number(count)) { stop(); clearTimeout(timer); client.dispose(); }
  },
  error: (err) => { console.error(String(err?.message ?? JSON.stringify(err))); process.exit(1); },
  complete: () => {},
});
client.on("connected", () => console.log("subscribed"));
