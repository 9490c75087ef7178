"use client";

import { setNonce } from "get-nonce";

// The dialog's scroll lock (react-remove-scroll, under Radix) adds a <style>
// element at run time, and the page's policy applies styles only with the
// page's nonce. The nonce attribute is hidden from markup, but a script may
// read it: take it from the scripts Next.js rendered for this response.
if (typeof document !== "undefined") {
  const nonce = document.querySelector<HTMLScriptElement>("script[nonce]")?.nonce;
  if (nonce) setNonce(nonce);
}

/** Rendered once in the root layout so that the module above runs on every page. */
export function StyleNonce(): null {
  return null;
}
