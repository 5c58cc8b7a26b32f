/**
 * Types of `fastify-flask-errors/otel`: ClientErrorSpanProcessor is a span processor of the
 * OpenTelemetry JS SDK 2.x as the SDK declares it, so it goes into a provider's `spanProcessors`
 * without a cast, and its declarations need none of the SDK's types.
 */
import { expectAssignable, expectType } from 'tsd'
import { BasicTracerProvider, SimpleSpanProcessor, InMemorySpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base'
import { ClientErrorSpanProcessor, type EndingSpan } from 'fastify-flask-errors/otel'

const processor = new ClientErrorSpanProcessor()
expectAssignable<SpanProcessor>(processor)
expectType<BasicTracerProvider>(new BasicTracerProvider({ spanProcessors: [processor, new SimpleSpanProcessor(new InMemorySpanExporter())] }))
expectAssignable<EndingSpan>({ kind: 1, attributes: { 'http.response.status_code': 404 }, status: { code: 2 } })
