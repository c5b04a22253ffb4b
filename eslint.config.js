// ESLint for the pages' ES modules (agent_console/static); the vendored libraries are not ours to lint.
import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: ["agent_console/static/vendor/**", "node_modules/**", ".venv/**", "var/**"] },
  js.configs.recommended,
  {
    files: ["agent_console/static/**/*.js"],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "module",
      globals: { ...globals.browser },
    },
    rules: {
      "no-unused-vars": ["error", { caughtErrors: "none" }],
      eqeqeq: "error",
      "prefer-const": "error",
      "no-var": "error",
    },
  },
];
