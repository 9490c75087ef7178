import { inject } from "vitest";
import { connectDnsServer } from "@/local-cluster/dns-server";

/** The run's DNS server (see tests/global-setup.ts): its address for resolvers, and setRecords/removeRecords. */
export function sharedDnsServer(): ReturnType<typeof connectDnsServer> {
  return connectDnsServer(inject("dnsServer"));
}
