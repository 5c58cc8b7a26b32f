/**
 * The published package: `npm pack` output installs in an empty folder and works from `import` and
 * from `require` (needs `npm run build` first; `npm test` does it).
 */
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const root = join(import.meta.dirname, '..')

t.test('npm pack output installs and runs from import and require', async (t) => {
  t.ok(existsSync(join(root, 'dist/esm/index.js')), 'dist is built (npm test runs the build first)')
  // Outside the repository, so nothing resolves from the project's own node_modules.
  const dir = mkdtempSync(join(tmpdir(), 'ffe-consumer-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true }))
  const npm = (args: string[], cwd: string): string => execFileSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, encoding: 'utf8' })
  const tarball = npm(['pack', '--ignore-scripts', '--pack-destination', dir], root).trim().split('\n').pop() as string
  const version = async (name: string): Promise<string> => (await import(`${name}/package.json`, { with: { type: 'json' } })).default.version
  npm(['install', '--prefer-offline', join(dir, tarball), `fastify@${await version('fastify')}`, `nodemailer@${await version('nodemailer')}`], dir)

  const script = `
    const Fastify = require('fastify')
    const flaskErrors = require('fastify-flask-errors')
    const { abort, NotFound } = require('fastify-flask-errors')
    const app = Fastify()
    app.register(flaskErrors).after(() => {
      app.errorhandler(NotFound)(() => ['cjs 404', 404])
      app.get('/', () => abort(404))
    })
    app.inject('/').then((res) => { process.stdout.write(res.statusCode + ' ' + res.body + ' ' + (flaskErrors.default === flaskErrors)) })
  `
  writeFileSync(join(dir, 'cjs.cjs'), script)
  t.equal(execFileSync(process.execPath, ['cjs.cjs'], { cwd: dir, encoding: 'utf8' }), '404 cjs 404 true')

  writeFileSync(join(dir, 'esm.mjs'), `
    import Fastify from 'fastify'
    import flaskErrors, { Gone } from 'fastify-flask-errors'
    const app = Fastify()
    await app.register(flaskErrors)
    app.get('/', (request, reply) => reply.abort(410))
    const res = await app.inject({ url: '/', headers: { accept: 'application/json' } })
    process.stdout.write(res.statusCode + ' ' + res.json().error + ' ' + (new Gone() instanceof Error))
  `)
  t.equal(execFileSync(process.execPath, ['esm.mjs'], { cwd: dir, encoding: 'utf8' }), '410 Gone true')

  writeFileSync(join(dir, 'mail.mjs'), "import { mailReporter } from 'fastify-flask-errors/mail'; process.stdout.write(typeof mailReporter)")
  t.equal(execFileSync(process.execPath, ['mail.mjs'], { cwd: dir, encoding: 'utf8' }), 'function', 'the mail subpath resolves (nodemailer is an optional peer)')
})
