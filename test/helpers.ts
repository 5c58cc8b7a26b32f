/** Shared test fixtures: an app with the plugin and its log lines captured. */
import Fastify from 'fastify'
import type { FastifyInstance, FastifyServerOptions } from 'fastify'
import { Writable } from 'node:stream'
import flaskErrors from '../index.js'
import type { FlaskErrorsOptions } from '../index.js'

/** One pino log line, parsed. */
export interface LogLine { level: number, msg: string, reqId?: string, err?: { type?: string, message?: string, stack?: string }, [key: string]: unknown }

/** An app with the plugin registered and every log line kept in `logs`. */
export async function build (options: FlaskErrorsOptions = {}, server: FastifyServerOptions = {}): Promise<{ app: FastifyInstance, logs: LogLine[] }> {
  const logs: LogLine[] = []
  const stream = new Writable({
    write (chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line !== '') logs.push(JSON.parse(line) as LogLine)
      done()
    }
  })
  const logger = typeof server.logger === 'object' ? { level: 'trace', stream, ...server.logger } : { level: 'trace', stream }
  const app = Fastify({ ...server, logger })
  await app.register(flaskErrors, options)
  return { app, logs }
}

/** pino's numeric levels. */
export const LEVEL = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const

/** Accept headers of a browser navigation and of an API client. */
export const BROWSER = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' }
export const API = { accept: 'application/json' }

/** Fails instead of hanging: the promise, or a rejection after `ms`. */
export async function within<T> (promise: Promise<T>, ms = 3000): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const limit = new Promise<never>((resolve, reject) => { timer = setTimeout(() => { reject(new Error(`no answer within ${ms} ms`)) }, ms) })
  try {
    return await Promise.race([promise, limit])
  } finally {
    clearTimeout(timer)
  }
}
