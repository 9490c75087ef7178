import { describe, expect, it } from "vitest";
import { inspectZip } from "./inspect";
import { DEFAULT_UPLOAD_LIMITS } from "./limits";
import { buildZip, makeTmp, writeZip } from "./test-support";
import { openZip } from "./zip-archive";

describe("inspectZip", () => {
  it("lets the server answer other work while it reads a large central directory", async () => {
    const entries = [{ name: "index.html", data: "<h1>hi</h1>" }, ...Array.from({ length: 3000 }, (_, i) => ({ name: `assets/f${i}.css`, data: "a{}" }))];
    const tmp = await makeTmp("pagoda-inspect-");
    try {
      const zip = await buildZip(entries);
      const file = await writeZip(tmp.dir, "site.zip", zip);
      const opened = await openZip(file);
      // Other work on the event loop: counts how often it got a turn.
      let turns = 0;
      let running = true;
      const tick = () => {
        turns += 1;
        if (running) setImmediate(tick);
      };
      setImmediate(tick);
      try {
        const plan = await inspectZip(opened.zip, DEFAULT_UPLOAD_LIMITS, zip.length);
        expect(plan.files).toHaveLength(entries.length);
      } finally {
        running = false;
        await opened.close();
      }
      // One turn per 256 entries at least; the directory fits in one or two block reads, so without yielding it would be one or two.
      expect(turns).toBeGreaterThanOrEqual(Math.floor(entries.length / 256) - 1);
    } finally {
      await tmp.cleanup();
    }
  });
});
