// `npm start`: demo upstreams plus turnout in file mode on examples/manifests,
// or, with --kubeconfig or inside a cluster, turnout against the cluster alone.
// Extra arguments go to turnout: `npm start -- --http-port 9080`.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { startDemoUpstreams } from "./demo-upstreams.ts";

const args = process.argv.slice(2);
const clusterMode = args.includes("--kubeconfig") || process.env.TURNOUT_KUBECONFIG !== undefined || process.env.KUBERNETES_SERVICE_HOST !== undefined;
const servers = clusterMode ? [] : await startDemoUpstreams();
const manifests = fileURLToPath(new URL("./manifests", import.meta.url));
const turnoutArgs = clusterMode || args.includes("--manifests") ? args : ["--manifests", manifests, ...args];
const entry = fileURLToPath(new URL("../cmd/turnout.ts", import.meta.url));
const child = spawn(process.execPath, ["--disable-warning=DEP0060", entry, ...turnoutArgs], { stdio: "inherit" });

if (!clusterMode) {
  process.stderr.write(
    "\nturnout demo: try\n" +
      "  curl -H 'Host: web.localhost' http://127.0.0.1:8080/\n" +
      "  curl -H 'Host: api.localhost' http://127.0.0.1:8080/v1/users\n" +
      "  curl -H 'Host: api.localhost' -H 'X-Canary: always' http://127.0.0.1:8080/v1/users\n" +
      "  curl http://127.0.0.1:10254/debug/routes\n\n",
  );
}
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => child.kill(signal));
child.on("exit", (code) => {
  for (const server of servers) server.close();
  process.exit(code ?? 0);
});
