/**
 * The error pages in a real browser: Debian's headless Chromium driven by playwright-core, against the
 * main example app listening on 127.0.0.1. What a tap test through inject cannot show: the browser's
 * own Accept header picks the HTML page, a fetch() asking for JSON gets JSON, hostile input stays text
 * (no script runs), and the CSP lets the pages' own inline style apply. Screenshots of the pages go
 * to test-output/ (git-ignored).
 *
 * Chromium is installed by scripts/ensure-browser.sh, which `npm test` runs first (the `pretest`
 * script). Without it this test fails, saying so: it is never skipped.
 */
import t from 'tap'
import type { Test } from 'tap'
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { chromium } from 'playwright-core'
import type { BrowserContext, Page } from 'playwright-core'

const CHROMIUM = '/usr/bin/chromium'
const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const OUTPUT = join(ROOT, 'test-output')

if (!existsSync(CHROMIUM)) {
  throw new Error(`${CHROMIUM} is missing: run scripts/ensure-browser.sh (npm test does it first, as root)`)
}

/**
 * Starts the example app as `npm run example` does — its own process, run as the main module — on an
 * ephemeral loopback port, and reads the address from its "Server listening" log line. Debug mode
 * through the example's environment switch. The child gets this process's own loader flags (tap's
 * TypeScript loader, or tsx's when run with tsx): the same transpilation, so the coverage it reports
 * lines up with the rest of the run's.
 */
async function start (debug: boolean): Promise<{ child: ChildProcess, base: string }> {
  const child = spawn(process.execPath, [...process.execArgv, 'examples/app.ts'], {
    cwd: ROOT,
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', FLASK_ERRORS_DEBUG: debug ? '1' : '0', NODE_ENV: 'development' },
    stdio: ['ignore', 'pipe', 'inherit']
  })
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })
  const base = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error('the example app did not start listening within 20 s')) }, 20_000)
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`the example app exited with ${String(code)} before listening`)) })
    lines.on('line', (line) => {
      const address = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(line)?.[1]
      if (address !== undefined) {
        clearTimeout(timer)
        resolve(address)
      }
    })
  })
  return { child, base }
}

async function stop (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.kill('SIGTERM')
  await exited
}

mkdirSync(OUTPUT, { recursive: true })
const site = await start(false)
t.teardown(() => stop(site.child))
const debugSite = await start(true)
t.teardown(() => stop(debugSite.child))
const profile = mkdtempSync(join(tmpdir(), 'ffe-chromium-'))
t.teardown(() => { rmSync(profile, { recursive: true, force: true }) })
const browser: BrowserContext = await chromium.launchPersistentContext(profile, {
  executablePath: CHROMIUM,
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width: 1000, height: 700 }
})
t.teardown(() => browser.close())

/** A fresh tab that records console errors (a CSP violation is reported there). */
async function tab (t: Test): Promise<{ page: Page, consoleErrors: string[] }> {
  const page = await browser.newPage()
  const consoleErrors: string[] = []
  page.on('console', (message) => { if (message.type() === 'error') consoleErrors.push(message.text()) })
  t.teardown(() => page.close())
  return { page, consoleErrors }
}

async function screenshot (page: Page, name: string): Promise<string> {
  const file = join(OUTPUT, name)
  await page.screenshot({ path: file, fullPage: true })
  return file
}

t.test('an unknown /blog URL shows the blog\'s 404 page (the browser\'s own Accept)', async (t) => {
  const { page, consoleErrors } = await tab(t)
  const response = await page.goto(`${site.base}/blog/no-such-post`)
  t.equal(response?.status(), 404)
  t.match(response?.headers()['content-type'], /^text\/html/)
  t.equal(await page.locator('h1').textContent(), 'No such post')
  t.match(await page.locator('main').textContent(), /The blog has nothing at \/blog\/no-such-post\./)
  t.match(await page.title(), /^404 Not Found · fastify-flask-errors example$/, 'the site layout wraps the page')
  t.match(await page.locator('.ref code').textContent(), /^req-/, 'the reference is on the page')
  const file = await screenshot(page, 'blog-404.png')
  t.ok(statSync(file).size > 1000, `screenshot written: ${file}`)
  t.same(consoleErrors.filter((text) => !/Failed to load resource/.test(text)), [])
})

t.test('a fetch() asking for JSON gets JSON from the same URL space', async (t) => {
  const { page } = await tab(t)
  await page.goto(`${site.base}/`)
  const answer = await page.evaluate(async () => {
    const response = await fetch('/blog/no-such-post', { headers: { Accept: 'application/json' } })
    return { status: response.status, type: response.headers.get('content-type'), vary: response.headers.get('vary'), body: await response.json() as Record<string, unknown> }
  })
  t.equal(answer.status, 404)
  t.match(answer.type, /^application\/json/)
  t.equal(answer.vary, 'Accept')
  t.match(answer.body, { statusCode: 404, error: 'Not Found', message: 'Nothing was found at this address.', requestId: /^req-/ })
})

t.test('hostile input is shown as text; no script runs', async (t) => {
  const { page } = await tab(t)
  const payload = '<img src=x onerror=window.pwned=1>'
  const response = await page.goto(`${site.base}/blog/${payload}`)
  t.equal(response?.status(), 404)
  t.equal(await page.locator('h1').textContent(), 'No such post')
  t.equal(await page.locator('main img').count(), 0, 'no element made from the path')
  t.match(await page.locator('main code').first().textContent(), /^\/blog\/.*img.*onerror=window\.pwned=1/, 'the path is shown as text')
  t.equal(await page.evaluate(() => (window as unknown as { pwned?: unknown }).pwned), undefined)

  // A query string reaches the page decoded, through the description: the real test of escaping.
  const profile = await page.goto(`${site.base}/profile?username=${encodeURIComponent(payload)}`)
  t.equal(profile?.status(), 404)
  t.equal(await page.locator('main p').nth(1).textContent(), `No user called ${payload}.`, 'the text is shown exactly, as text')
  t.equal(await page.locator('main img').count(), 0)
  t.equal(await page.evaluate(() => (window as unknown as { pwned?: unknown }).pwned), undefined)
})

t.test('the built-in page: its own style applies under its CSP', async (t) => {
  const { page, consoleErrors } = await tab(t)
  // The blog's folder has no 4xx template, and does not borrow the site's: the built-in page.
  const response = await page.goto(`${site.base}/blog/_errors/410`)
  t.equal(response?.status(), 410)
  t.match(response?.headers()['content-security-policy'], /default-src 'none'/)
  t.equal(await page.locator('h1').textContent(), 'Gone')
  t.equal(await page.locator('main').evaluate((main) => getComputedStyle(main).borderRadius), '12px', 'the inline style is allowed by its hash')
  t.same(consoleErrors.filter((text) => /Content Security Policy/.test(text)), [], 'no CSP violation')
  const file = await screenshot(page, 'built-in-410.png')
  t.ok(statSync(file).size > 1000, `screenshot written: ${file}`)
})

t.test('debug mode: the debug page, styled, with the stack and the request', async (t) => {
  const { page, consoleErrors } = await tab(t)
  await page.setExtraHTTPHeaders({ cookie: 'session=s3cr3t', authorization: 'Bearer very-secret' })
  const response = await page.goto(`${debugSite.base}/crash`)
  t.equal(response?.status(), 500)
  t.equal(await page.locator('h1').textContent(), 'Error: database password rejected for db.internal:5432')
  const text = await page.locator('body').textContent() ?? ''
  t.match(text, /examples\/app\.ts:\d+:\d+/, 'the frame in the example app')
  t.match(text, /throw new Error\('database password rejected/, 'its source line')
  t.match(text, /session=\[masked\]/)
  t.notMatch(text, /s3cr3t|very-secret/)
  t.equal(await page.locator('header').evaluate((header) => getComputedStyle(header).backgroundColor), 'rgb(130, 7, 30)', 'the inline style is allowed by its hash')
  t.equal(await page.locator('script').count(), 0)
  t.same(consoleErrors.filter((text) => /Content Security Policy/.test(text)), [], 'no CSP violation')
  const file = await screenshot(page, 'debug-500.png')
  t.ok(statSync(file).size > 1000, `screenshot written: ${file}`)
})

t.test('without debug mode the same crash shows the site\'s 500 page, nothing internal', async (t) => {
  const { page } = await tab(t)
  const response = await page.goto(`${site.base}/crash`)
  t.equal(response?.status(), 500)
  t.equal(await page.locator('h1').textContent(), 'Something broke')
  t.notMatch(await page.locator('body').textContent(), /database|db\.internal|5432|app\.ts/)
  await screenshot(page, 'site-500.png')
})
