// `lesson-check pins --newest-patch`, as the lesson workflow's newest-patch leg runs it, against
// GitHub API responses served on loopback: tag lists in GitHub's shape (`GET /repos/{repo}/tags`,
// paged with a Link header), with release candidates and another module's tags among them; a
// rate limit, a failing call and an API that does not answer are each one line, exit 2.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { freeLoopbackPort } from '../helpers/offline/registry.ts';
import { lessonCheck } from './support/cli.ts';

/** One tag as GitHub lists it. */
const tag = (repo: string, name: string) => ({
  name,
  zipball_url: `https://api.github.com/repos/${repo}/zipball/refs/tags/${name}`,
  tarball_url: `https://api.github.com/repos/${repo}/tarball/refs/tags/${name}`,
  commit: { sha: '0'.repeat(40), url: `https://api.github.com/repos/${repo}/commits/${'0'.repeat(40)}` },
  node_id: 'REF_x',
});

const PAGES: Record<string, string[][]> = {
  // containerd's tags: the api module's, release candidates, an older minor; 2.2.3 on page two
  'containerd/containerd': [
    ['api/v1.9.0', 'v2.2.2-rc.1', 'v2.2.0', 'v2.1.5', 'v1.7.29'],
    ['v2.2.3', 'v2.2.1', 'v2.3.0-beta.0'],
  ],
  'opencontainers/runc': [['v1.4.1-rc.1', 'v1.4.0', 'v1.3.9']],
  'containerd/nerdctl': [['v2.2.1', 'v2.2.0', 'v2.1.6']],
  // 1.10.0 is another minor, not a newer 1.9
  'containernetworking/plugins': [['v1.10.0', 'v1.9.0', 'v1.8.0']],
};

describe('pins --newest-patch', () => {
  let server: Server;
  let api: string;
  let mode: 'tags' | 'rate-limited' | 'failing' = 'tags';

  beforeAll(async () => {
    server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', api);
      const m = /^\/repos\/([^/]+\/[^/]+)\/tags$/.exec(url.pathname);
      if (mode === 'rate-limited') {
        res.writeHead(403, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '1795920000' });
        return res.end(JSON.stringify({ message: 'API rate limit exceeded for 192.0.2.1.' }));
      }
      if (mode === 'failing' || !m || !PAGES[m[1]!]) {
        res.writeHead(mode === 'failing' ? 502 : 404);
        return res.end(JSON.stringify({ message: mode === 'failing' ? 'Server Error' : 'Not Found' }));
      }
      const pages = PAGES[m[1]!]!;
      const page = Number(url.searchParams.get('page') ?? '1');
      const next =
        page < pages.length ? { link: `<${api}${url.pathname}?per_page=100&page=${page + 1}>; rel="next"` } : {};
      res.writeHead(200, { 'content-type': 'application/json', ...next });
      res.end(JSON.stringify(pages[page - 1]!.map((name) => tag(m[1]!, name))));
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((done) => server.close(() => done())));

  test('each pin moves to the newest patch of its minor, over all pages, without candidates or api/ tags', async () => {
    mode = 'tags';
    const run = await lessonCheck(['pins', '--newest-patch', '--api', api]);
    expect(run.exitCode, run.output).toBe(0);
    expect(run.stdout.trim()).toBe('containerd=2.2.3,runc=1.4.0,nerdctl=2.2.1,cniPlugins=1.9.0');
  });

  test('a rate limit says so and when it ends, in one line, exit 2', async () => {
    mode = 'rate-limited';
    const run = await lessonCheck(['pins', '--newest-patch', '--api', api]);
    expect(run.exitCode).toBe(2);
    expect(run.stdout).toBe('');
    const lines = run.output.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /HTTP 403, rate limited until 2026-11-29T\d\d:\d\d:00\.000Z \(a token lifts the limit: GH_TOKEN\)/,
    );
  });

  test('a failing call and an API that does not answer are one line each, exit 2, nothing on stdout', async () => {
    mode = 'failing';
    const failing = await lessonCheck(['pins', '--newest-patch', '--api', api]);
    expect(failing.exitCode).toBe(2);
    expect(failing.stdout).toBe('');
    expect(failing.output).toMatch(/could not be looked up: .*HTTP 502: Server Error/);
    const gone = await lessonCheck(['pins', '--newest-patch', '--api', `http://127.0.0.1:${await freeLoopbackPort()}`]);
    expect(gone.exitCode).toBe(2);
    expect(gone.output.trim().split('\n')).toHaveLength(1);
    expect(gone.output).toContain('could not be looked up');
  });
});
