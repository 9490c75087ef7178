// The pool agent's process: configuration, nginx as its child, the API.
// nginx exiting on its own ends the agent with an error, so the kubelet
// restarts the container; SIGTERM ends both gracefully.
import { componentLogger } from "@/lib/log";
import { AgentConfigError, loadAgentConfig } from "./config";
import { PoolAgent } from "./agent";
import { createAgentServer, createMirrorServer, createPreviewServer } from "./api";
import { createAgentMetrics } from "./metrics";

const log = componentLogger("pool-agent");

async function main(): Promise<void> {
  let config;
  try {
    config = loadAgentConfig(process.env);
  } catch (error) {
    if (error instanceof AgentConfigError) {
      log.fatal(error.message);
      process.exit(2);
    }
    throw error;
  }
  const agent = new PoolAgent({ config, metrics: createAgentMetrics({ defaultMetrics: true }) });
  const server = createAgentServer(agent, config.token);
  const previews = createPreviewServer(agent);
  const mirror = createMirrorServer(agent);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "stopping");
    server.close();
    server.closeIdleConnections();
    previews.close();
    previews.closeIdleConnections();
    mirror.close();
    mirror.closeIdleConnections();
    agent.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, "stopping failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  void agent.nginxExited.then((exit) => {
    if (agent.isStopping) return;
    log.fatal({ exit }, "nginx exited; the agent exits so that the container is restarted");
    process.exit(1);
  });
  // Loopback only: nginx in this pod reaches it, tenant pods never do. Up before nginx, which
  // passes preview hosts here from its first configuration on.
  await new Promise<void>((resolve, reject) => {
    previews.once("error", reject);
    previews.listen(config.previewPort, "127.0.0.1", () => resolve());
  });
  await agent.start();
  for (const [listener, port] of [
    [server, config.apiPort],
    [mirror, config.mirrorPort],
  ] as const) {
    await new Promise<void>((resolve, reject) => {
      listener.once("error", reject);
      listener.listen(port, config.host, () => resolve());
    });
  }
  log.info({ pod: config.podName, api: config.apiPort, site: config.sitePort, previews: config.previewPort, mirror: config.mirrorPort }, "pool agent started");
}

main().catch((error: unknown) => {
  log.fatal({ err: error }, "pool agent failed");
  process.exit(1);
});
