import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import puppeteer, { type Browser } from 'puppeteer-core';
import type { Incident } from '../../shared/model';
import { aggregate } from '../../shared/report/aggregate';
import { chartJsSource } from '../../shared/report/chart-source';
import { CHART_IDS, CHARTS_READY_ATTRIBUTE, renderHtml } from '../../shared/report/html';
import { anIncident } from '../support/incident';
import { aGrant } from '../support/ssh';

const ROOT = join(__dirname, '..', '..');
const SCREENSHOT = join(ROOT, '.local', 'test-results', 'report.png');

/** Debian's chromium (apt-get install chromium), or CHROMIUM_PATH. */
function findChromium(): string | undefined {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  try {
    return execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

const chromium = findChromium();
// In CI a missing browser is a failure (the test runs and says why); on a laptop, a skip that says how.
const describeInBrowser = chromium || process.env.CI ? describe : describe.skip;
if (!chromium && !process.env.CI) {
  console.warn(
    'report-browser.test.ts skipped: no chromium found. Install it with: apt-get install chromium',
  );
}

/** A month with each kind of outcome, detected on different days, so both charts have bars. */
function aMonthOfIncidents(): Incident[] {
  const remediated = (id: string, detectedAt: string, ttrMs: number, hipaa: string[]) =>
    anIncident({
      incidentId: id,
      detectedAt,
      hipaa,
      steps: [
        { action: 'Verify', at: new Date(Date.parse(detectedAt) + ttrMs).toISOString(), result: 'succeeded' },
      ],
    });
  return [
    remediated('inc-1', '2026-11-03T10:00:00.000Z', 90_000, ['164.312(a)(2)(iv)']),
    remediated('inc-2', '2026-11-10T10:00:00.000Z', 240_000, ['164.312(a)(2)(iv)', '164.312(e)(2)(ii)']),
    remediated('inc-3', '2026-11-12T10:00:00.000Z', 30_000, ['164.312(a)(1)', '164.308(a)(4)(ii)(C)']),
    anIncident({ incidentId: 'inc-4', detectedAt: '2026-11-18T10:00:00.000Z', status: 'open', steps: [] }),
    anIncident({
      incidentId: 'inc-5',
      detectedAt: '2026-11-19T10:00:00.000Z',
      status: 'failed',
      hipaa: ['164.312(b)'],
    }),
  ];
}

/** The month's report, written as the CLI writes it: one self-contained HTML file. */
function aReportFile(incidents: Incident[]): string {
  const report = aggregate({
    incidents,
    grants: [{ ...aGrant({ userName: 'dev-alice' }, 3_600_000), createdAt: '2026-11-11T08:00:00.000Z' }],
    exemptions: [
      {
        exemptionId: 'exm-20261105T090000-0a1b2c3d',
        ruleId: 'ssh-open-to-world',
        hipaa: ['164.312(a)(1)', '164.308(a)(4)(ii)(C)'],
        resourceArn: 'arn:aws:ec2:us-east-1:111122223333:security-group/sg-0abc',
        reason: 'CHG-9 vendor SFTP until cut-over',
        until: '2026-12-05T00:00:00.000Z',
        setBy: 'arn:aws:iam::111122223333:user/oncall-bob',
        setAt: '2026-11-05T09:00:00.000Z',
      },
    ],
    since: new Date('2026-11-01T00:00:00.000Z'),
    until: new Date('2026-11-24T00:00:00.000Z'),
    grantCitations: ['164.312(a)(1)'],
    source: 'table incidents in us-east-1',
  });
  const file = join(mkdtempSync(join(tmpdir(), 'report-browser-')), 'report.html');
  writeFileSync(file, renderHtml(report, chartJsSource()));
  return file;
}

/** Runs in the page: pixels each chart canvas drew (any, and saturated ones: bars, not axes or text). */
const CANVAS_PIXELS = `(${JSON.stringify(CHART_IDS)}).map(function (id) {
  var canvas = document.getElementById(id);
  var pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  var drawn = 0, coloured = 0;
  for (var i = 0; i < pixels.length; i += 4) {
    if (pixels[i + 3] === 0) continue;
    drawn++;
    var max = Math.max(pixels[i], pixels[i + 1], pixels[i + 2]);
    var min = Math.min(pixels[i], pixels[i + 1], pixels[i + 2]);
    if (pixels[i + 3] > 200 && max - min > 80) coloured++;
  }
  return { id: id, drawn: drawn, coloured: coloured };
})`;

describeInBrowser('the HTML report in headless Chromium', () => {
  let browser: Browser;

  beforeAll(async () => {
    if (!chromium) throw new Error('no chromium found (CI is set, so this fails): apt-get install chromium');
    browser = await puppeteer.launch({
      executablePath: chromium,
      headless: true, // puppeteer passes --headless=new
      args: ['--no-sandbox'],
    });
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('opens offline from file://, requests nothing else, and draws both charts', async () => {
    // Prepare
    const incidents = aMonthOfIncidents();
    const file = aReportFile(incidents);
    const page = await browser.newPage();
    await page.setViewport({ width: 1200, height: 900 });
    const elsewhere: string[] = [];
    const problems: string[] = [];
    await page.setRequestInterception(true);
    page.on('request', (request) => {
      if (request.url().startsWith('file:')) return void request.continue();
      elsewhere.push(request.url());
      return void request.abort();
    });
    // CSP violations and script errors surface here
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(String(error)));
    // Act
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    await page.waitForSelector(`html[${CHARTS_READY_ATTRIBUTE}="true"]`, { timeout: 15_000 });
    const canvases = (await page.evaluate(CANVAS_PIXELS)) as {
      id: string;
      drawn: number;
      coloured: number;
    }[];
    const totalsRow = await page.$$eval('table:first-of-type tbody tr:first-child td', (cells) =>
      cells.map((cell) => cell.textContent),
    );
    mkdirSync(join(ROOT, '.local', 'test-results'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT as `${string}.png`, fullPage: true });
    // Assess: no request left the file, nothing was refused, each chart drew bars
    expect(elsewhere).toEqual([]);
    expect(problems).toEqual([]);
    expect(canvases.map((canvas) => canvas.id)).toEqual([...CHART_IDS]);
    for (const canvas of canvases) {
      expect({ id: canvas.id, drewSomething: canvas.drawn > 1000, drewBars: canvas.coloured > 200 }).toEqual({
        id: canvas.id,
        drewSomething: true,
        drewBars: true,
      });
    }
    // Assess: the page shows the number of incidents the test made (the totals row's first figure)
    expect(totalsRow.slice(0, 2)).toEqual(['all safeguards (each incident once)', String(incidents.length)]);
  });

  it.each([420, 1400])(
    'fits a %i px wide screen: nothing wider than the page, charts drawn, a screenshot under .local/',
    async (width) => {
      // Prepare
      const page = await browser.newPage();
      await page.setViewport({ width, height: 900 });
      // Act
      await page.goto(pathToFileURL(aReportFile(aMonthOfIncidents())).href, { waitUntil: 'load' });
      await page.waitForSelector(`html[${CHARTS_READY_ATTRIBUTE}="true"]`, { timeout: 15_000 });
      const layout = (await page.evaluate(`({
        page: document.documentElement.scrollWidth,
        widest: Math.max.apply(null, Array.prototype.map.call(document.querySelectorAll('canvas, h1, h2, p'),
          function (element) { return element.getBoundingClientRect().right; })),
      })`)) as { page: number; widest: number };
      mkdirSync(join(ROOT, '.local', 'test-results'), { recursive: true });
      await page.screenshot({
        path: join(ROOT, '.local', 'test-results', `report-${width}.png`) as `${string}.png`,
        fullPage: true,
      });
      // Assess: the page never scrolls sideways (wide tables scroll inside their own box)
      expect(layout.page).toBeLessThanOrEqual(width);
      expect(layout.widest).toBeLessThanOrEqual(width);
    },
  );

  it('prints to a PDF an auditor can file, under .local/', async () => {
    // Prepare
    const page = await browser.newPage();
    await page.goto(pathToFileURL(aReportFile(aMonthOfIncidents())).href, { waitUntil: 'load' });
    await page.waitForSelector(`html[${CHARTS_READY_ATTRIBUTE}="true"]`, { timeout: 15_000 });
    const path = join(ROOT, '.local', 'test-results', 'report.pdf');
    // Act
    const pdf = await page.pdf({ path, format: 'A4', printBackground: true });
    // Assess: a real PDF with pages, holding the report's text
    expect(Buffer.from(pdf).subarray(0, 5).toString('latin1')).toBe('%PDF-');
    expect(Buffer.from(pdf).toString('latin1')).toMatch(/\/Type\s*\/Page\b/);
  });
});
