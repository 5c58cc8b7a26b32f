/**
 * The production logging setup of the Flask tutorial ("Errors and logging"),
 * on Fastify: unhandled errors mailed to the administrators when a mail
 * server is configured (never in debug mode), and every log line written to
 * stdout and to a rotating log file.
 *
 * Run it with `npx tsx examples/reporting.ts`; the variables are listed in
 * `configFromEnv` and in the README.
 */
import Fastify from 'fastify'
import pino from 'pino'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import flaskErrors from 'fastify-flask-errors'
import type { Reporter } from 'fastify-flask-errors'
import { mailReporterFromEnv } from 'fastify-flask-errors/mail'

/** The example's settings, all from the environment. */
export interface ExampleConfig {
  /** `APP_DEBUG=1`: the plugin's debug pages, and no mail (as `if not app.debug:` in the tutorial). */
  debug: boolean
  /** The mail reporter, or null when `MAIL_SERVER` is unset or in debug mode. */
  mail: Reporter | null
  /** Why mail is off, for the startup line. */
  mailStatus: string
  /** `LOG_DIR` (default `examples/logs`) + `app.log`; pino-roll numbers the files `app.1.log`, `app.2.log`… */
  logFile: string
  /** `LOG_FILE_SIZE`: size before a new file is started (pino-roll syntax: `10m`, `512k`), default `10m`. */
  logFileSize: string
  /** `LOG_FILE_COUNT`: rotated files kept besides the active one, default 10 (the tutorial's `backupCount`). */
  logFileCount: number
  /** Also write the log lines to stdout (default true). */
  stdout: boolean
}

const here = fileURLToPath(new URL('.', import.meta.url))

/** Reads a yes/no variable. */
function flag (value: string | undefined): boolean {
  return ['1', 'true', 'yes', 'on'].includes((value ?? '').trim().toLowerCase())
}

/** The example's configuration from environment variables. */
export function configFromEnv (env: Record<string, string | undefined> = process.env): ExampleConfig {
  const debug = flag(env.APP_DEBUG)
  // Debug mode: errors are on the screen, no need to mail them (Flask tutorial).
  const mail = debug ? null : mailReporterFromEnv(env, { subject: '[reporting example]' })
  const count = Number(env.LOG_FILE_COUNT ?? '10')
  if (!Number.isInteger(count) || count < 1) throw new Error(`LOG_FILE_COUNT must be a positive integer, got "${env.LOG_FILE_COUNT ?? ''}"`)
  return {
    debug,
    mail,
    mailStatus: mail !== null ? `on, to ${env.ADMINS ?? ''}` : debug ? 'off (debug mode)' : 'off (MAIL_SERVER not set)',
    logFile: join(env.LOG_DIR ?? join(here, '..', 'logs'), 'app.log'),
    logFileSize: env.LOG_FILE_SIZE ?? '10m',
    logFileCount: count,
    stdout: env.LOG_STDOUT === undefined || flag(env.LOG_STDOUT)
  }
}

/** Builds the app: pino → rotating file (+ stdout), the plugin with the mail reporter, three routes. */
export async function buildApp (config: ExampleConfig) {
  const transport = pino.transport({
    targets: [
      { target: 'pino-roll', level: 'info', options: { file: config.logFile, size: config.logFileSize, limit: { count: config.logFileCount }, mkdir: true } },
      ...(config.stdout ? [{ target: 'pino/file', level: 'info', options: { destination: 1 } }] : [])
    ]
  })
  const app = Fastify({ loggerInstance: pino({ level: 'info' }, transport) })

  // onClose hooks run last-registered first: this one, added before the
  // plugin, runs after the plugin has flushed its reports (whose failures
  // are logged), so those lines reach the file too.
  app.addHook('onClose', async () => {
    const keepAlive = setInterval(() => {}, 1000) // the transport's worker is unref'd
    await new Promise<void>((resolve) => {
      transport.once('close', () => resolve())
      transport.end()
    })
    clearInterval(keepAlive)
  })

  await app.register(flaskErrors, {
    debug: config.debug,
    report: config.mail,
    // Routing 404s are noise on a public site: bots probe for /wp-admin all day.
    notFoundLogLevel: 'debug',
    // The app's own secret-bearing names, masked in mails, log lines and the debug page on top of the
    // defaults (cookies, authorization, x-api-key, ?token=, ?password=…).
    redact: { headers: ['x-shop-key'], query: ['voucher'] }
  })

  app.get('/', async () => ({ hello: 'world' }))
  app.get('/orders/:id', async (request) => {
    const { id } = request.params as { id: string }
    // An unhandled error: answered with a 500 page, logged at `error`, mailed.
    throw new Error(`could not load order ${id}`, { cause: new Error('connect ECONNREFUSED 127.0.0.1:5432') })
  })
  app.get('/missing', async (_request, reply) => reply.abort(404, 'No such page'))
  return app
}
