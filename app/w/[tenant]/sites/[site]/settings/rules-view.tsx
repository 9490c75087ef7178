import type { SiteSettingsView } from "@/lib/sites/settings";

type Rules = SiteSettingsView["rules"];

function Errors({ errors }: { errors: string[] }) {
  if (errors.length === 0) return null;
  return (
    <ul className="mt-2 space-y-1 text-sm text-red-700" data-testid="rules-errors">
      {errors.map((message) => (
        <li key={message}>{message}</li>
      ))}
    </ul>
  );
}

const LINE = "w-12 pr-3 text-right align-top font-mono text-xs text-slate-400 tabular-nums";

function Redirects({ file }: { file: NonNullable<Rules["redirects"]> }) {
  return (
    <div>
      <h3 className="font-mono text-sm font-semibold text-slate-800">_redirects</h3>
      <Errors errors={file.errors} />
      <table className="mt-2 w-full text-sm" data-testid="redirect-rules">
        <thead className="sr-only">
          <tr>
            <th>Line</th>
            <th>From</th>
            <th>To</th>
            <th>Status</th>
          </tr>
        </thead>
        <tbody>
          {file.rules.map((rule) => (
            <tr key={rule.line} data-testid="redirect-rule" data-line={rule.line} className="border-t border-slate-100">
              <td className={LINE}>{rule.line}</td>
              <td className="break-all py-1 pr-3 font-mono text-slate-900">
                {rule.from}
                {rule.query.length > 0 ? <span className="text-slate-500"> {rule.query.join(" ")}</span> : null}
              </td>
              <td className="break-all py-1 pr-3 font-mono text-slate-900">{rule.to}</td>
              <td className="py-1 font-mono text-slate-700">
                {rule.status}
                {rule.force ? "!" : ""}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Headers({ file }: { file: NonNullable<Rules["headers"]> }) {
  return (
    <div>
      <h3 className="font-mono text-sm font-semibold text-slate-800">_headers</h3>
      <Errors errors={file.errors} />
      <table className="mt-2 w-full text-sm" data-testid="header-rules">
        <thead className="sr-only">
          <tr>
            <th>Line</th>
            <th>Path or header</th>
          </tr>
        </thead>
        <tbody>
          {file.rules.flatMap((rule) => [
            <tr key={rule.line} data-testid="header-rule" data-line={rule.line} className="border-t border-slate-100">
              <td className={LINE}>{rule.line}</td>
              <td className="break-all py-1 font-mono font-semibold text-slate-900">{rule.path}</td>
            </tr>,
            ...rule.headers.map((header) => (
              <tr key={header.line} data-line={header.line}>
                <td className={LINE}>{header.line}</td>
                <td className="break-all py-0.5 pl-4 font-mono text-slate-700">
                  {header.value === null ? `! ${header.name}` : `${header.name}: ${header.value}`}
                </td>
              </tr>
            )),
          ])}
        </tbody>
      </table>
    </div>
  );
}

/** A deploy's rules as it was checked at upload, each with the line of its file. */
export function RulesView({ rules }: { rules: Rules }) {
  if (!rules.redirects && !rules.headers) {
    return (
      <p className="text-sm text-slate-600" data-testid="no-rules">
        No rules: this deploy has no <span className="font-mono">_redirects</span> or <span className="font-mono">_headers</span> file.
      </p>
    );
  }
  return (
    <div className="space-y-6">
      {rules.redirects ? <Redirects file={rules.redirects} /> : null}
      {rules.headers ? <Headers file={rules.headers} /> : null}
    </div>
  );
}
