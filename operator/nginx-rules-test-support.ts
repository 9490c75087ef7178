// Test-only: renders a whole nginx.conf with a site's rules, by splicing what
// renderRules returns into what renderNginxConfig renders, the way the
// renderer will once it takes rules (docs/site-rules.md, "Wiring").
import { renderNginxConfig, type NginxConfigOptions } from "./nginx-config";
import { renderRules, type SiteRules } from "./nginx-rules";
import { HEALTH_PATH } from "./nginx-config";

function replaceOnce(text: string, from: string, to: string): string {
  const at = text.indexOf(from);
  if (at === -1 || text.indexOf(from, at + 1) !== -1) throw new Error(`expected exactly one ${JSON.stringify(from)} in nginx.conf`);
  return text.slice(0, at) + to + text.slice(at + from.length);
}

export function renderConfigWithRules(opts: NginxConfigOptions, rules: SiteRules): string {
  const base = renderNginxConfig(opts);
  const r = renderRules(rules, { spa: opts.spa, reservedPaths: [HEALTH_PATH] });
  let conf = replaceOnce(base, "  default_type application/octet-stream;\n", `  default_type application/octet-stream;\n${r.httpSettings}`);
  conf = replaceOnce(conf, "\n  server {\n", `\n${r.httpBlock}\n  server {\n`);
  conf = replaceOnce(conf, "    absolute_redirect off;\n", `    absolute_redirect off;\n\n${r.serverBlock}`);
  conf = replaceOnce(conf, `try_files $uri $uri/ ${opts.spa ? "/index.html" : "=404"};`, `try_files $uri $uri/ ${r.tryFilesFallback};`);
  conf = replaceOnce(conf, "add_header Cache-Control $pagoda_cache_control always;", `add_header Cache-Control ${r.cacheControlVariable} always;`);
  return conf;
}
