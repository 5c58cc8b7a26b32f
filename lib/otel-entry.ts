/**
 * `fastify-flask-errors/otel`, the subpath entry (package.json `exports`): what an application adds to
 * its OpenTelemetry SDK so that its traces follow the HTTP semantic conventions with `@fastify/otel`
 * too. A subpath of its own, so that the main entry loads nothing of OpenTelemetry: only applications
 * that import it need `@opentelemetry/api` (an optional peer dependency).
 *
 * @example
 * import { ClientErrorSpanProcessor } from 'fastify-flask-errors/otel'
 * new NodeTracerProvider({ spanProcessors: [new ClientErrorSpanProcessor(), new BatchSpanProcessor(exporter)] })
 */
export { ClientErrorSpanProcessor } from './client-error-spans.js'
export type { EndingSpan } from './client-error-spans.js'
