import { defineConfig } from "vitest/config"

export default defineConfig({
  // Resolve the package's own name to src/ (the "source" export condition), as `npm start` does.
  resolve: { conditions: ["source"] },
  ssr: { resolve: { conditions: ["source"] } },
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000
  }
})
