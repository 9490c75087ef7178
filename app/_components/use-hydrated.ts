"use client";

import { useSyncExternalStore } from "react";

const never = () => () => undefined;

/**
 * False in the server render and until React has hydrated the page. Forms
 * keep their submit button disabled until then: submitted earlier, the
 * browser would send the form itself, reloading the page with the fields
 * (a password too) in the address, and the person's input lost.
 */
export function useHydrated(): boolean {
  return useSyncExternalStore(
    never,
    () => true,
    () => false,
  );
}
