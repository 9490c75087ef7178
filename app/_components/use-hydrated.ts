"use client";

import { useSyncExternalStore } from "react";

const never = () => () => undefined;

/**
 * False in the server render and until React has hydrated the page. Buttons
 * that act through script stay disabled until then. A form submitted earlier
 * would be sent by the browser itself, reloading the page with the fields (a
 * password too) in the address and the person's input lost; a click on any
 * other such button would do nothing at all.
 */
export function useHydrated(): boolean {
  return useSyncExternalStore(
    never,
    () => true,
    () => false,
  );
}
