/**
 * The app's source files, as the debug page reads them: only regular script files of the app, each
 * read once, every read bounded. The page must stay safe if the server is reachable by others: a
 * frame a message forges, a link that leads out of the app, a FIFO swapped in for a script, a bundle
 * of one megabyte-long line, none of them may show another file, block the event loop or bloat a page.
 */
import { closeSync, constants, fstatSync, openSync, readSync, realpathSync, statSync } from 'node:fs'
import type { Stats } from 'node:fs'
import { extname, isAbsolute, parse, relative } from 'node:path'

/** One line of a source excerpt. */
export interface SourceLine {
  readonly number: number
  /** The line, cut at `MAX_LINE_CHARS` with a marker saying how much was left out. */
  readonly text: string
  /** The line the frame points at. */
  readonly current: boolean
}

/** How the stack parser asks for source: whether a file is the app's, and the lines around a line of it. */
export interface FrameSources {
  isApp: (file: string) => boolean
  excerpt: (file: string, line: number) => SourceLine[] | undefined
}

/** Lines shown before and after the current one. */
const CONTEXT_LINES = 3
/** Larger files are not excerpted (generated bundles). */
const MAX_FILE_BYTES = 1024 * 1024
/** Files kept in memory per app; the oldest is dropped past this. */
const MAX_FILES = 64
/** Longer source lines are cut, with a marker: a minified bundle is one line of a megabyte. */
const MAX_LINE_CHARS = 240
/** Source characters one page shows over all its frames; later frames show their location only. */
export const MAX_PAGE_SOURCE_CHARS = 64 * 1024
/**
 * What the page excerpts: files Node runs or that source maps point to. Not `.env`, keys, data or
 * config files that sit in the app's folder too, whatever a frame names.
 */
const SOURCE_EXTENSIONS = new Set(['.js', '.mjs', '.cjs', '.jsx', '.ts', '.mts', '.cts', '.tsx'])
/**
 * A FIFO, socket or device swapped in after the check must not block the event loop: O_NONBLOCK makes
 * `open` return at once, O_NOFOLLOW refuses a symlink swapped in for the checked path. (Windows has
 * neither; `|` turns the missing constants into 0.)
 */
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW

/**
 * The source files one app's debug page may read, and the lines read so far. Only regular files of the
 * app: absolute paths inside its root (the working directory when the plugin was registered, as
 * `process.cwd()` gives it, symlinks resolved), not under `node_modules`, once their own symlinks are
 * resolved still inside it, with a script's extension, at most 1 MiB. Each file is read once (at most
 * `MAX_FILES` are kept, the oldest dropped first), with its long lines already cut.
 */
export class SourceFiles implements FrameSources {
  /**
   * The app's root; undefined when it is the file system's root (a service started from `/`), where
   * every file would count as the app's: then no file is read at all.
   */
  readonly root: string | undefined
  readonly #files = new Map<string, readonly string[] | null>()

  constructor (root: string) {
    this.root = parse(root).root === root ? undefined : root
  }

  /** Whether `file`, as a frame names it, is one of the app's own files (neither Node's nor a dependency's). */
  isApp (file: string): boolean {
    return this.root !== undefined && isAbsolute(file) && inside(this.root, file)
  }

  /** The lines around `line` (1-based) of one of the app's files, or undefined when it cannot be read. */
  excerpt (file: string, line: number): SourceLine[] | undefined {
    const lines = this.#linesOf(file)
    if (lines === null || line < 1 || line > lines.length) return undefined
    const out: SourceLine[] = []
    for (let n = Math.max(1, line - CONTEXT_LINES); n <= Math.min(lines.length, line + CONTEXT_LINES); n++) {
      out.push({ number: n, text: lines[n - 1], current: n === line })
    }
    return out
  }

  #linesOf (file: string): readonly string[] | null {
    const cached = this.#files.get(file)
    if (cached !== undefined) return cached
    const lines = this.isApp(file) ? readSource(this.root as string, file) : null
    if (this.#files.size >= MAX_FILES) this.#files.delete(this.#files.keys().next().value as string)
    this.#files.set(file, lines)
    return lines
  }
}

/** `path` is below `root` and not in a dependency (`node_modules` anywhere below the root). */
function inside (root: string, path: string): boolean {
  const rel = relative(root, path)
  const parts = rel.split(/[\\/]/)
  // On Windows, a path on another drive comes back absolute.
  return !isAbsolute(rel) && !parts.includes('..') && !parts.includes('node_modules')
}

/**
 * Reads one source file of the app, or null. Symlinks are resolved first and the real path checked
 * again (a link inside the app may point at `/etc/passwd`); the path is `stat`ed before it is opened
 * (opening a FIFO for reading blocks until a writer comes: the whole server would stop), and the open
 * file is checked again with `fstat`, in case another file was swapped in between.
 */
function readSource (root: string, file: string): string[] | null {
  let fd: number | undefined
  let lines: string[] | null = null
  try {
    const real = realpathSync(file)
    const script = inside(root, real) && SOURCE_EXTENSIONS.has(extname(real).toLowerCase())
    // Only what `stat` calls a regular file is opened, and the open file must still be one.
    const size = !script || sourceSize(statSync(real)) === undefined ? undefined : sourceSize(fstatSync(fd = openSync(real, OPEN_FLAGS)))
    if (size !== undefined) {
      const buffer = Buffer.alloc(size)
      const read = readSync(fd as number, buffer, 0, size, 0)
      lines = buffer.subarray(0, read).toString('utf8').split(/\r?\n/).map(cutLine)
    }
  } catch {
    // Gone, unreadable, a dangling link: the frame is shown without its source, which is all we can do.
    lines = null
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
  return lines
}

/** The size of a regular file small enough to excerpt; undefined for anything else (FIFO, socket, device, directory, bundle). */
function sourceSize (stats: Stats): number | undefined {
  return stats.isFile() && stats.size <= MAX_FILE_BYTES ? stats.size : undefined
}

/** A source line as shown: at most `MAX_LINE_CHARS`, then a marker saying how much was cut. */
function cutLine (text: string): string {
  if (text.length <= MAX_LINE_CHARS) return text
  // Not between the two halves of a surrogate pair, which would show as a replacement character.
  const high = text.charCodeAt(MAX_LINE_CHARS - 1)
  const end = high >= 0xd800 && high <= 0xdbff ? MAX_LINE_CHARS - 1 : MAX_LINE_CHARS
  return `${text.slice(0, end)}…[${text.length - end} more characters]`
}

/**
 * One page's reads: the app's files, within the page's budget of source characters
 * (`MAX_PAGE_SOURCE_CHARS`), so that thirty frames of a wide file cannot make a page of megabytes.
 */
export class PageSources implements FrameSources {
  readonly #files: SourceFiles
  #remaining = MAX_PAGE_SOURCE_CHARS
  /** An excerpt was left out for want of budget. */
  cut = false

  constructor (files: SourceFiles) {
    this.#files = files
  }

  /** Whether `file` is one of the app's own files, as {@link SourceFiles.isApp}. */
  isApp (file: string): boolean {
    return this.#files.isApp(file)
  }

  /** The excerpt {@link SourceFiles.excerpt} gives, or undefined once it no longer fits the page's budget. */
  excerpt (file: string, line: number): SourceLine[] | undefined {
    const lines = this.#files.excerpt(file, line)
    if (lines === undefined) return undefined
    const size = lines.reduce((sum, l) => sum + l.text.length, 0)
    if (size > this.#remaining) {
      this.cut = true
      return undefined
    }
    this.#remaining -= size
    return lines
  }
}
