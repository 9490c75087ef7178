import ignore from "ignore";

/**
 * The ignore file a person may put at the top of the folder they deploy:
 * gitignore syntax, read with the `ignore` package. The pagoda CLI
 * (cli/src/walk.ts) and the dashboard's folder upload (app/_lib) both read
 * it through this module, so a folder deploys the same files either way. It
 * is pure (no Node or browser API) for that reason.
 */
export const IGNORE_FILE = ".pagodaignore";

export interface IgnoreRules {
  /**
   * Whether `path` (relative to the deployed folder, "/" between segments)
   * stays out of the deploy. A folder that is left out is not even read.
   * The ignore file itself, at the top, is always left out.
   */
  ignores(path: string, isFolder: boolean): boolean;
}

/** The rules of an ignore file's text; `null` (no ignore file) leaves nothing out but the file itself. */
export function parseIgnoreRules(text: string | null): IgnoreRules {
  const rules = ignore();
  if (text !== null) rules.add(text);
  return {
    ignores(path, isFolder) {
      if (!isFolder && path === IGNORE_FILE) return true;
      return rules.ignores(isFolder ? `${path}/` : path);
    },
  };
}
