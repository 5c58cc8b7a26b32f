/**
 * Error mails and rotating log files, configured from the environment.
 *
 *   npx tsx examples/reporting.ts
 *   MAIL_SERVER=127.0.0.1 MAIL_PORT=2525 ADMINS=you@example.com npx tsx examples/reporting.ts
 *
 * Then: curl http://127.0.0.1:3000/orders/1 (a 500, mailed), /missing (a 404, not mailed).
 * Logs: examples/logs/app.N.log. Ctrl-C closes the app, which sends any pending reports.
 */
import { buildApp, configFromEnv } from './reporting/app.js'

const config = configFromEnv()
const app = await buildApp(config)
const address = await app.listen({ port: Number(process.env.PORT ?? 3000), host: process.env.HOST ?? '127.0.0.1' })
// The startup line, as the tutorial's `app.logger.info('Microblog startup')`.
app.log.info({ address, debug: config.debug, mail: config.mailStatus, logFile: config.logFile }, 'reporting example started')

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    app.log.info({ signal }, 'shutting down')
    // close() waits for pending error reports (each bounded by reportTimeout).
    app.close().then(() => process.exit(0), (error: unknown) => {
      console.error(error)
      process.exit(1)
    })
  })
}
