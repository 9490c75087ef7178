import zlib from "node:zlib";
import { describe, expect, it } from "vitest";
import { UploadError, zipLibraryError } from "./errors";

describe("zipLibraryError", () => {
  it("maps zlib's own errors to ours, keeping the original as the cause", () => {
    let original: unknown;
    try {
      zlib.inflateRawSync(Buffer.from([0xff, 0xff, 0xff, 0xff]));
    } catch (err) {
      original = err;
    }
    const mapped = zipLibraryError(original, { stage: "entry", entry: "app.js" });
    expect(mapped).toBeInstanceOf(UploadError);
    expect((mapped as UploadError).code).toBe("corrupt");
    expect(mapped.message).toBe('The compressed data of "app.js" is damaged, so the file cannot be unpacked. Please create the zip again.');
    expect(mapped.cause).toBe(original);
  });

  it("leaves system errors alone: a failing disk is our fault, not the person's", () => {
    const eio = Object.assign(new Error("EIO: i/o error, read"), { code: "EIO", errno: -5, syscall: "read" });
    for (const site of [{ stage: "open" }, { stage: "directory", entriesRead: 3 }, { stage: "entry", entry: "a" }] as const) {
      expect(zipLibraryError(eio, site)).toBe(eio);
    }
  });

  it("leaves unknown errors while reading an entry alone (the tar writer, a bug)", () => {
    const bug = new Error("size mismatch");
    expect(zipLibraryError(bug, { stage: "entry", entry: "a" })).toBe(bug);
  });

  it("turns unknown errors of the zip structure into a plain refusal without their text", () => {
    const odd = new Error("some new yauzl complaint 0xdead");
    const mapped = zipLibraryError(odd, { stage: "directory", entriesRead: 1 });
    expect((mapped as UploadError).code).toBe("corrupt");
    expect(mapped.message).not.toContain("yauzl");
    expect(mapped.message).not.toContain("0xdead");
  });

  it("passes our own refusals through unchanged", () => {
    const ours = new UploadError("crc_mismatch", "The contents do not match their checksum.");
    expect(zipLibraryError(ours, { stage: "entry", entry: "a" })).toBe(ours);
  });
});
