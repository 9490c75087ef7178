import next from "eslint-config-next/core-web-vitals";
import nextTs from "eslint-config-next/typescript";

const config = [
  ...next,
  ...nextTs,
  // A rest sibling is how an object is copied without a key (operator/pool/domains.ts drops ownerReferences).
  { rules: { "@typescript-eslint/no-unused-vars": ["warn", { ignoreRestSiblings: true }] } },
  { ignores: [".next/**", "build/**", ".tools/**", ".data/**", "lib/generated/**", "node_modules/**", "test-results/**", "playwright-report/**"] },
];
export default config;
