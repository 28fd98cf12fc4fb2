// The image's HEALTHCHECK: exit 0 when the API in this container answers /healthz. Plain
// JavaScript with no imports, so the check costs one short node start and no TypeScript load.
const port = process.env.PORT || "8080";
try {
  const response = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(4000) });
  process.exit(response.ok ? 0 : 1);
} catch {
  process.exit(1);
}
