#!/usr/bin/python3
"""web_browser.py -- the HQ web page in headless Chromium, for
tests/cli/web_browser.sh (which builds the network, adds the web user and
writes what `dealernet-hq` prints into WANT; read it first).

    /usr/bin/python3 tests/lib/web_browser.py BASE USER PASSWORD_FILE WANT SHOTS SLOW COUNTS

BASE      the page's address (http://127.0.0.1:PORT)
USER      a web user, its password in PASSWORD_FILE (one line)
WANT      folder of NAME.json / NAME.csv: `dealernet-hq ARGS --json` and
          `--csv` for each table of the pages (web_browser.sh's `want`),
          and ids.json (the sales' ids)
SHOTS     folder for the screenshots, NN-PAGE.png, one per page (full page)
SLOW      how much slower than usual the server runs (1; 10 under valgrind)
COUNTS    file this writes "PASSED FAILED" into, for the shell's summary

Debian's chromium through chromedriver, driven by Debian's python3-selenium
(the system python: a pyenv's has no selenium).  Each page is reached as a
person reaches it: the login form filled and its button clicked, then the
navigation's links, the partner tree's links to statements, a statement's
links to its sales, the header's sale and statement forms, the logout
button.  On each page, every table is read from the DOM (the cells'
textContent) and compared with what `dealernet-hq --json` gave for the
same command and arguments, rendered as dealernet-hq's table renders it
(dn_render: "-" for null, yes / no, keys upper-cased as headers, the
_minor twins left out); a few figures are also asserted as worked by hand
in web_browser.sh.  One line per check ("ok   ..." / "FAIL ..."), as
tests/lib/net.sh's check.
"""
import base64
import csv
import io
import json
import os
import re
import struct
import sys
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import (InvalidSessionIdException, NoSuchWindowException,
                                        WebDriverException)
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

BASE, USER, PASSWORD_FILE, WANT, SHOTS, SLOW, COUNTS = sys.argv[1:8]
SLOW = int(SLOW)
with open(PASSWORD_FILE, encoding='utf-8') as f:
    PASSWORD = f.read().strip()

passed = 0
failed = 0


def short(value):
    if isinstance(value, bytes):
        value = value.decode('utf-8', 'replace')
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 160 else text[:157] + '...'


def check(name, want, got):
    """One check, one line (net.sh's check)."""
    global passed, failed
    if want == got:
        passed += 1
        print('ok   %s: %s' % (name, short(got)), flush=True)
    else:
        failed += 1
        print("FAIL %s: expected '%s', got '%s'" % (name, short(want), short(got)),
              flush=True)


def want_json(name):
    with open(os.path.join(WANT, name + '.json'), encoding='utf-8') as f:
        return json.load(f)


def zh_headers(name):
    """The headers of dealernet-hq's table under LANG=zh_CN.UTF-8 (NAME_zh.txt:
    its first line, columns two or more blanks apart)."""
    with open(os.path.join(WANT, name + '_zh.txt'), encoding='utf-8') as f:
        return [h for h in re.split(r'\s{2,}', f.readline().strip()) if h]


def want_bytes(name):
    with open(os.path.join(WANT, name + '.csv'), 'rb') as f:
        return f.read()


# -- what dealernet-hq's table shows ----------------------------------------------

def cell(value):
    """A JSON value as dn_render's table (and the page) shows it in English."""
    if value is None:
        return '-'
    if value is True:
        return 'yes'
    if value is False:
        return 'no'
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(',', ':'), ensure_ascii=False)
    return str(value)


def header(key):
    """A key as an English table header: upper-cased (no English catalogue)."""
    return key.upper()


def want_table(rows, moving=()):
    """The table of an array of flat objects: the first object's keys
    without the _minor twins; the values of the keys in moving (figures
    that move with the clock between two reads) as '*'."""
    if not rows:
        return {'headers': [], 'rows': []}
    keys = [k for k in rows[0] if not k.endswith('_minor')]
    return {'headers': [header(k) for k in keys],
            'rows': [['*' if k in moving else cell(r.get(k)) for k in keys] for r in rows]}


def want_fields(obj):
    """An object's definition list: scalar keys, nested objects one level
    flattened, arrays left out (they are tables)."""
    out = []
    for key, value in obj.items():
        if key.endswith('_minor') or isinstance(value, list):
            continue
        if isinstance(value, dict):
            out += [[header(k), cell(v)] for k, v in value.items()
                    if not k.endswith('_minor')]
        else:
            out.append([header(key), cell(value)])
    return out


# -- the browser ------------------------------------------------------------------

def start_browser():
    options = webdriver.ChromeOptions()
    options.binary_location = '/usr/bin/chromium'
    # --no-sandbox: CI runs as root, where Chromium's sandbox will not start
    for arg in ('--headless=new', '--no-sandbox', '--disable-gpu',
                '--disable-dev-shm-usage', '--window-size=1280,900', '--lang=en-US',
                '--hide-scrollbars', '--force-device-scale-factor=1'):
        options.add_argument(arg)
    options.add_experimental_option('prefs', {'intl.accept_languages': 'en-US,en'})
    options.set_capability('goog:loggingPrefs', {'browser': 'ALL'})
    driver = webdriver.Chrome(service=Service('/usr/bin/chromedriver'), options=options)
    driver.set_page_load_timeout(30 * SLOW)
    return driver


driver = start_browser()
WAIT = 20 * SLOW
shot_n = 0


def path_of(url=None):
    parts = urllib.parse.urlsplit(url or driver.current_url)
    return parts.path + ('?' + parts.query if parts.query else '')


def loaded():
    WebDriverWait(driver, WAIT).until(
        lambda d: d.execute_script('return document.readyState') == 'complete')


def go(action):
    """Does action (a click, a submit), then waits for the next page.

    The old page carries a mark; the next page is there when a document
    without the mark is complete.  While the browser is between the two,
    chromedriver may answer a script or an element with any error (a
    stale element, "Node with given id does not belong to the document",
    a script cut off by the unload): each only means "not yet", unless the
    browser or its window is gone."""
    def arrived(d):
        try:
            return d.execute_script('return window.dnOldPage === undefined'
                                    ' && document.readyState === "complete"')
        except (InvalidSessionIdException, NoSuchWindowException):
            raise
        except WebDriverException:
            return False

    driver.execute_script('window.dnOldPage = true')
    action()
    WebDriverWait(driver, WAIT).until(arrived)


def open_url(path):
    driver.get(BASE + path)
    loaded()


def click_link(text, within='header nav'):
    link = driver.find_element(By.CSS_SELECTOR, within).find_element(By.LINK_TEXT, text)
    go(link.click)


def submit_form(selector, fields):
    form = driver.find_element(By.CSS_SELECTOR, selector)
    for name, value in fields.items():
        box = form.find_element(By.NAME, name)
        box.clear()
        box.send_keys(value)
    go(form.find_element(By.CSS_SELECTOR, 'button[type="submit"]').click)


def png_size(path):
    with open(path, 'rb') as f:
        head = f.read(24)
    if head[:8] != b'\x89PNG\r\n\x1a\n':
        return None
    return struct.unpack('>II', head[16:24])


def shot(name):
    """The whole page as NN-name.png in SHOTS (beyond the window's height)."""
    global shot_n
    shot_n += 1
    path = os.path.join(SHOTS, '%02d-%s.png' % (shot_n, name))
    metrics = driver.execute_cdp_cmd('Page.getLayoutMetrics', {})
    size = metrics.get('cssContentSize') or metrics['contentSize']
    width, height = max(1, int(size['width'])), max(1, min(int(size['height']), 6000))
    data = driver.execute_cdp_cmd('Page.captureScreenshot', {
        'format': 'png', 'captureBeyondViewport': True,
        'clip': {'x': 0, 'y': 0, 'width': width, 'height': height, 'scale': 1}})['data']
    with open(path, 'wb') as f:
        f.write(base64.b64decode(data))
    dims = png_size(path)
    check('screenshot %s: a PNG of the page' % os.path.basename(path), True,
          dims is not None and dims[0] >= 1000 and dims[1] >= 300)


def no_errors(page, allowed=()):
    """Nothing went wrong in the page's scripts or loads since the last
    look: no SEVERE entry in the browser's console log (a script's
    exception, a failed load, a CSP refusal), but those holding one of
    allowed."""
    severe = [e['message'] for e in driver.get_log('browser')
              if e['level'] == 'SEVERE' and not any(a in e['message'] for a in allowed)]
    check('%s: no errors in the browser console' % page, [], severe)


def done(page, name):
    """Leaving a page: its console clean (no_errors), its screenshot taken."""
    no_errors(page)
    shot(name)


TABLES_JS = r"""
const out = [];
for (const s of document.querySelectorAll('section.table')) {
    const t = s.querySelector('table'), a = s.querySelector('h2 a.csv');
    out.push([s.id.replace(/^t-/, ''), {
        title: s.querySelector('h2').firstChild.textContent.trim(),
        csv: a ? a.getAttribute('href') : null,
        download: a ? a.hasAttribute('download') : false,
        none: s.querySelector('p.none') ? s.querySelector('p.none').textContent : null,
        headers: t ? Array.from(t.tHead.rows[0].cells, c => c.textContent) : [],
        rows: t ? Array.from(t.tBodies[0].rows, r => Array.from(r.cells, c => c.textContent)) : []
    }]);
}
return out;
"""

FIELDS_JS = r"""
const dl = document.querySelector('dl.fields');
if (!dl) return null;
const out = [];
for (const dt of dl.querySelectorAll('dt'))
    out.push([dt.textContent, dt.nextElementSibling.textContent]);
return out;
"""

CHARTS_JS = r"""
return Array.from(document.querySelectorAll('figure.chart canvas'), c => {
    const chart = typeof Chart === 'undefined' ? null : Chart.getChart(c);
    const box = c.getBoundingClientRect();
    let inked = 0;
    const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    for (let i = 3; i < px.length; i += 4)
        if (px[i] !== 0) inked++;
    return {id: c.id, width: box.width, height: box.height, inked: inked,
            type: chart ? chart.config.type : null,
            labels: chart ? chart.data.labels : null,
            series: chart ? chart.data.datasets.map(d => [d.label, d.data]) : null};
});
"""


def tables():
    """The page's tables by name, in the page's order."""
    return dict(driver.execute_script(TABLES_JS))


def nav(text, want_path, within='header nav'):
    """Clicks the link text (in within) and checks the page it led to;
    returns that page's tables."""
    click_link(text, within)
    check('the link %s: leads to' % text, want_path, path_of())
    return tables()


def heading():
    return driver.find_element(By.TAG_NAME, 'h1').text


def check_table(page, shown, name, rows, moving=()):
    """Table name of the page is rows (a command's --json) cell by cell."""
    table = shown.get(name)
    if table is None:
        check('%s: table %s' % (page, name), 'there', 'missing')
        return None
    want = want_table(rows, moving)
    blank = [i for i, h in enumerate(table['headers']) if h in [header(k) for k in moving]]
    got = {'headers': table['headers'],
           'rows': [['*' if i in blank else v for i, v in enumerate(r)] for r in table['rows']]}
    if not rows:
        check('%s: table %s is empty, as the command\'s' % (page, name), '(none)',
              table['none'])
        return table
    if want == got:
        check('%s: table %s = dealernet-hq --json (%d rows x %d columns)'
              % (page, name, len(rows), len(want['headers'])), True, True)
    else:
        diff = 'headers %s' % got['headers'] if want['headers'] != got['headers'] else ''
        for i, (w, g) in enumerate(zip(want['rows'], got['rows'])):
            if w != g:
                diff = 'row %d: %s' % (i + 1, g)
                break
        if len(want['rows']) != len(got['rows']):
            diff = '%d rows' % len(got['rows'])
        check('%s: table %s = dealernet-hq --json' % (page, name),
              'the same', diff or 'differs')
    return table


def column(table, key):
    i = table['headers'].index(header(key))
    return [r[i] for r in table['rows']]


def session_cookie():
    cookie = driver.get_cookie('dn_session')
    return cookie['value'] if cookie else ''


def fetch(href):
    """GET href as the browser's session (its cookie), outside the browser:
    (status, headers, body)."""
    url = urllib.parse.urljoin(driver.current_url, href)
    request = urllib.request.Request(url, headers={'Cookie': 'dn_session=' + session_cookie()})
    with urllib.request.urlopen(request, timeout=20 * SLOW) as answer:
        return answer.status, answer.headers, answer.read()


def check_csv(page, table, name, want_name, filename, moving=()):
    """The table's CSV link downloads what `dealernet-hq --csv` printed:
    byte for byte, or with the columns in moving blanked on both sides."""
    if table is None:
        return
    check('%s: %s CSV link, a download' % (page, name), True, table['download'])
    status, headers, body = fetch(table['csv'])
    want = want_bytes(want_name)
    check('%s: %s CSV: status, type, file name' % (page, name),
          '200 text/csv; charset=utf-8 attachment; filename="%s"' % filename,
          '%d %s %s' % (status, headers.get('Content-Type'), headers.get('Content-Disposition')))
    if moving:
        def blank(data):
            rows = list(csv.reader(io.StringIO(data.decode('utf-8'), newline='')))
            cols = [i for i, k in enumerate(rows[0]) if k in moving] if rows else []
            return [[('*' if i in cols else v) for i, v in enumerate(r)] for r in rows]
        check('%s: %s CSV = dealernet-hq --csv (but %s)' % (page, name, ', '.join(moving)),
              blank(want), blank(body))
    else:
        # the same bytes: said as their size and first line
        first = want.split(b'\r\n', 1)[0].decode('utf-8')
        check('%s: %s CSV = dealernet-hq --csv, byte for byte' % (page, name),
              '%d bytes: %s' % (len(want), first),
              '%d bytes: %s' % (len(body), first) if body == want else body)


def check_chart(page, chart, labels, series):
    """A chart drew (a canvas of a size, with ink on it) what its table
    holds: Chart.js's labels and each series' values."""
    check('%s: chart %s drawn: a canvas of a size, with ink' % (page, chart['id']), True,
          chart['width'] > 100 and chart['height'] > 100 and chart['inked'] > 0)
    check('%s: chart %s labels' % (page, chart['id']), labels, chart['labels'])
    check('%s: chart %s values' % (page, chart['id']), series,
          [[label, [float(v) for v in values]] for label, values in (chart['series'] or [])])


ids = want_json('ids')
try:
    # -- the login ---------------------------------------------------------------
    open_url('/')
    check('/ without a session: redirected to', '/login', path_of())
    shot('login')
    submit_form('form[action="/login"]', {'name': USER, 'password': 'Not-The-Password-1'})
    check('a wrong password: the message',
          'Wrong user name or password.',
          driver.find_element(By.CSS_SELECTOR, 'p.error').text)
    # the refused login is a 403 document: the console names it
    no_errors('/login', allowed=('403',))
    submit_form('form[action="/login"]', {'name': USER, 'password': PASSWORD})
    check('login: lands on the overview', '/', path_of())
    check('login: the heading', 'Overview', heading())
    check('login: the user beside the logout button', USER,
          driver.find_element(By.CSS_SELECTOR, 'form.logout .user').text)

    # -- / ---------------------------------------------------------------------------
    page = '/'
    shown = tables()
    check('/: tables', ['days', 'channels', 'teams', 'kpi'], list(shown))
    check('/: days title, the pinned clock\'s last 30 days',
          'Sales by day, 2026-10-22 to 2026-11-20', shown['days']['title'])
    days = want_json('days')
    check_table(page, shown, 'days', days)
    check('/: 2026-11-20 by hand: 4 sales 822.20, 2 refunds 73.50, net 748.70',
          ['2026-11-20', 'CNY', '4', '822.20', '2', '73.50', '748.70'],
          shown['days']['rows'][0] if shown['days']['rows'] else None)
    channels = want_json('channels')
    check_table(page, shown, 'channels', channels)
    check('/: channels by hand: store 212.30 net 193.80, online 59.90, community 550.00 net 495.00',
          [['store', '212.30', '193.80'], ['online', '59.90', '59.90'],
           ['community', '550.00', '495.00']],
          [[r[0], r[3], r[6]] for r in shown['channels']['rows']])
    teams = want_json('teams')
    check('/: teams title', 'Team volume by partner, 2026-11-01 to 2026-11-20',
          shown['teams']['title'])
    check_table(page, shown, 'teams', teams)
    check('/: team volume by hand: DEALER-BJ 748.70 net (all four), RESELLER-7 495.00',
          ['748.70', '748.70', '748.70', '495.00'], column(shown['teams'], 'net'))
    check_table(page, shown, 'kpi', want_json('kpi'))
    charts = driver.execute_script(CHARTS_JS)
    check('/: charts', ['canvas-chart-days', 'canvas-chart-channels', 'canvas-chart-teams'],
          [c['id'] for c in charts])
    if len(charts) == 3:
        # 30 days to 2026-11-20, today included: 2026-10-22 ... 2026-11-20
        labels = ['2026-10-%02d' % d for d in range(22, 32)] + \
                 ['2026-11-%02d' % d for d in range(1, 21)]
        by_day = {r['day']: float(r['total']) for r in days}
        check_chart(page, charts[0], labels, [['CNY', [by_day.get(d, 0.0) for d in labels]]])
        check_chart(page, charts[1], [r['channel'] for r in channels],
                    [['CNY', [float(r['total']) for r in channels]]])
        # the largest team volume first (ties in the table's order)
        ranked = sorted(teams, key=lambda r: -r['total_minor'])
        check_chart(page, charts[2], [r['partner'] for r in ranked],
                    [['CNY', [float(r['total']) for r in ranked]]])
    for name, filename in (('days', 'days.csv'), ('channels', 'channels.csv'),
                           ('teams', 'teams.csv'), ('kpi', 'kpi.csv')):
        check_csv(page, shown[name], name, name, filename)
    done(page, 'overview')

    # -- /partners ---------------------------------------------------------------------
    page = '/partners'
    shown = nav('Partners', '/partners')
    check('/partners: this month, the pinned clock\'s',
          'The partner tree and each partner\'s account, 2026-11', shown['earnings']['title'])
    earnings = want_json('earnings')
    check_table(page, shown, 'earnings', earnings)
    check('/partners: closing by hand: HQ 0.00, REGION-N 10.77, DEALER-BJ 29.76, RESELLER-7 39.55',
          ['0.00', '10.77', '29.76', '39.55'], column(shown['earnings'], 'closing'))
    check('/partners: the tree, indented', ['HQ', '  REGION-N', '    DEALER-BJ',
                                            '      RESELLER-7'],
          column(shown['earnings'], 'tree'))
    check_csv(page, shown['earnings'], 'earnings', 'earnings', 'earnings.csv')
    done(page, 'partners')
    open_url('/partners?period=2026-10')
    shown = tables()
    check_table('/partners?period=2026-10', shown, 'earnings', want_json('earnings_oct'))
    check('/partners?period=2026-10 by hand: nothing before the sales', ['0.00'] * 4,
          column(shown['earnings'], 'closing'))
    check_csv('/partners?period=2026-10', shown['earnings'], 'earnings', 'earnings_oct',
              'earnings-2026-10.csv')
    open_url('/partners?period=2026-11')
    check('/partners?period=2026-11: the page', 'Partners', heading())
    shown = tables()
    check_table('/partners?period=2026-11', shown, 'earnings', earnings)
    no_errors('/partners?period=')

    # -- /statement, from the tree's link ----------------------------------------------
    page = '/statement'
    shown = nav('RESELLER-7', '/statement?partner=RESELLER-7&period=2026-11',
                within='#t-earnings')
    statement = want_json('statement_r7')
    check('/statement: heading', 'Statement of RESELLER-7, 2026-11', heading())
    check('/statement: the figures = dealernet-hq statement --json', want_fields(statement),
          driver.execute_script(FIELDS_JS))
    check_table(page, shown, 'transfers', statement['transfers'])
    check('/statement RESELLER-7 by hand: 44.00 + 5.00 + 5.50 - 4.40 - 0.55 - 10.00',
          ['44.00', '5.00', '5.50', '-4.40', '-0.55', '-10.00'],
          column(shown['transfers'], 'amount'))
    check('/statement RESELLER-7 by hand: closing 39.55', ['CLOSING', '39.55'],
          driver.execute_script(FIELDS_JS)[4])
    check_csv(page, shown['transfers'], 'transfers', 'statement_r7',
              'transfers-RESELLER-7-2026-11.csv')
    done(page, 'statement-RESELLER-7')

    # -- /sale, from the statement's link: the group buy ------------------------------
    go(driver.find_element(By.CSS_SELECTOR,
                           '#t-transfers a[href="/sale?id=%s"]' % ids['buy']).click)
    page = '/sale'
    check('the statement\'s link: the group buy', '/sale?id=' + ids['buy'], path_of())
    sale = want_json('sale_buy')
    check('/sale: heading', 'Sale ' + ids['buy'], heading())
    check('/sale: the facts = dealernet-hq sale --json', want_fields(sale),
          driver.execute_script(FIELDS_JS))
    shown = tables()
    check('/sale: its lists', ['lines', 'path', 'refunds', 'transfers', 'holds'], list(shown))
    for name in ('lines', 'path', 'refunds', 'transfers', 'holds'):
        check_table(page, shown, name, sale[name])
    # hq_drill.sh's figures, worked there
    check('/sale: transfers by hand: kind amount exact rounding', [
        ['commission', '44.00', '44.00', '0.00'], ['commission', '16.50', '16.50', '0.00'],
        ['commission', '5.50', '5.50', '0.00'], ['bonus', '5.00', '5.00', '0.00'],
        ['referral', '5.50', '5.50', '0.00'], ['clawback', '-4.40', '-4.40', '0.00'],
        ['clawback', '-1.65', '-1.65', '0.00'], ['clawback', '-0.55', '-0.55', '0.00'],
        ['clawback', '-0.55', '-0.55', '0.00']],
        [list(x) for x in zip(column(shown['transfers'], 'kind'),
                              column(shown['transfers'], 'amount'),
                              column(shown['transfers'], 'exact'),
                              column(shown['transfers'], 'rounding'))])
    check_csv(page, shown['transfers'], 'transfers', 'sale_buy',
              'transfers-%s.csv' % ids['buy'])
    done(page, 'sale-group-buy')

    # -- the header's forms: a statement, a sale by receipt, by id ----------------------
    submit_form('form[action="/statement"]', {'partner': 'DEALER-BJ', 'period': '2026-11'})
    page = '/statement (the form)'
    check('the statement form: DEALER-BJ', '/statement?partner=DEALER-BJ&period=2026-11',
          path_of())
    statement = want_json('statement_bj')
    check('%s: the figures' % page, want_fields(statement), driver.execute_script(FIELDS_JS))
    shown = tables()
    check_table(page, shown, 'transfers', statement['transfers'])
    check('%s DEALER-BJ by hand: 5.99 + 1.48 + 3.00 + 5.92 - 1.48 + 16.50 - 1.65 = 29.76'
          % page, (['5.99', '1.48', '3.00', '5.92', '-1.48', '16.50', '-1.65'], '29.76'),
          (column(shown['transfers'], 'amount'), driver.execute_script(FIELDS_JS)[4][1]))
    check_csv(page, shown['transfers'], 'transfers', 'statement_bj',
              'transfers-DEALER-BJ-2026-11.csv')
    done(page, 'statement-DEALER-BJ')

    submit_form('form[action="/sale"]', {'site': 'GROUP-7', 'receipt': '0001'})
    page = '/sale (by receipt)'
    check('the sale form, GROUP-7 receipt 0001', '/sale?id=&site=GROUP-7&receipt=0001',
          path_of())
    check('%s: the group buy' % page, 'Sale ' + ids['buy'], heading())
    shown = tables()
    check_table(page, shown, 'transfers', sale['transfers'])
    no_errors(page)

    submit_form('form[action="/sale"]', {'id': ids['sale1']})
    page = '/sale (by id)'
    sale = want_json('sale_1')
    check('the sale form, an id: the shop\'s first sale', '/sale?id=%s&site=&receipt=' % ids['sale1'],
          path_of())
    check('%s: the facts' % page, want_fields(sale), driver.execute_script(FIELDS_JS))
    shown = tables()
    for name in ('lines', 'path', 'transfers'):
        check_table(page, shown, name, sale[name])
    check('%s: the roundings by hand: 119.80 x 2 %% = 2.396 -> 2.40, 18.50 x 3 %% = 0.555 -> 0.56'
          % page, [['2.396', '2.40', '0.004'], ['0.555', '0.56', '0.005']],
          [[column(shown['transfers'], k)[i] for k in ('exact', 'amount', 'rounding')]
           for i in (1, 3)])
    check_csv(page, shown['transfers'], 'transfers', 'sale_1', 'transfers-%s.csv' % ids['sale1'])
    done(page, 'sale-rounding')

    submit_form('form[action="/sale"]', {'id': '', 'site': 'SHOP-BJ1', 'receipt': '0004'})
    page = '/sale (held)'
    sale = want_json('sale_held')
    check('%s: the held sale' % page, 'Sale ' + ids['held'], heading())
    check('%s: the facts' % page, want_fields(sale), driver.execute_script(FIELDS_JS))
    shown = tables()
    check_table(page, shown, 'transfers', sale['transfers'])
    check_table(page, shown, 'holds', sale['holds'])
    check('%s: its hold' % page, ['seller_out_of_tree', 'open'],
          [column(shown['holds'], 'kind')[0], column(shown['holds'], 'status')[0]])
    done(page, 'sale-held')

    # -- /sites -----------------------------------------------------------------------
    page = '/sites'
    shown = nav('Sites', '/sites')
    moving = ('silent_for', 'silent_ms')  # the time since the last contact
    check_table(page, shown, 'sites', want_json('sites'), moving)
    check_table(page, shown, 'site_list', want_json('site_list'))
    check('/sites by hand: pending 0 and 0 (each synced all it recorded)',
          ['0', '0'], column(shown['sites'], 'pending'))
    check('/sites by hand: applied seq GROUP-7 3 (member, sale, refund), '
          'SHOP-BJ1 7 (2 members, 4 sales, a refund)',
          [['GROUP-7', '3'], ['SHOP-BJ1', '7']],
          [list(x) for x in zip(column(shown['site_list'], 'site'),
                                column(shown['site_list'], 'applied_seq'))])
    check_csv(page, shown['sites'], 'sites', 'sites', 'sites.csv', moving)
    check_csv(page, shown['site_list'], 'site_list', 'site_list', 'site_list.csv')
    done(page, 'sites')

    # -- /exceptions --------------------------------------------------------------------
    page = '/exceptions'
    shown = nav('Exceptions', '/exceptions')
    check_table(page, shown, 'exceptions', want_json('exceptions'))
    check('/exceptions: the held sale, open', [['1', 'seller_out_of_tree', 'yes', 'SHOP-BJ1']],
          [r[:4] for r in shown['exceptions']['rows']])
    check_csv(page, shown['exceptions'], 'exceptions', 'exceptions', 'exceptions.csv')
    done(page, 'exceptions')
    page = '/exceptions?all=1'
    shown = nav('Show the resolved ones too', '/exceptions?all=1', within='main')
    check_table(page, shown, 'exceptions', want_json('exceptions_all'))
    check('%s: the large sale, acknowledged' % page, ['large_sale', 'acknowledged'],
          [column(shown['exceptions'], 'kind')[1], column(shown['exceptions'], 'resolution')[1]])
    check_csv(page, shown['exceptions'], 'exceptions', 'exceptions_all', 'exceptions-1.csv')
    no_errors(page)

    # -- Chinese ------------------------------------------------------------------------
    open_url('/partners?period=2026-11&lang=zh_CN')
    page = '/partners?lang=zh_CN'
    check('%s: the page\'s language' % page, 'zh-CN',
          driver.find_element(By.TAG_NAME, 'html').get_attribute('lang'))
    check('%s: the navigation' % page, ['概览', '伙伴', '门店', '异常'],
          [a.text for a in driver.find_elements(By.CSS_SELECTOR, 'header nav a')])
    check('%s: the heading' % page, '伙伴', heading())
    shown = tables()
    check('%s: the headers = dealernet-hq earnings under LANG=zh_CN.UTF-8' % page,
          zh_headers('earnings'), shown['earnings']['headers'])
    check('%s: no header left English' % page, [],
          [h for h in shown['earnings']['headers'] if h.isascii() and h != 'CNY'])
    check('%s: the figures stay' % page, ['0.00', '10.77', '29.76', '39.55'],
          [r[-1] for r in shown['earnings']['rows']])
    done(page, 'partners-zh')
    click_link('概览')
    check('the session keeps Chinese: /', '概览', heading())
    shown = tables()
    check('/ in Chinese: the days\' headers = dealernet-hq sales --by day, in Chinese',
          zh_headers('days'), shown['days']['headers'])
    done('/ in Chinese', 'overview-zh')
    open_url('/?lang=en')
    check('?lang=en: English again', 'Overview', heading())

    # -- logout -------------------------------------------------------------------------
    go(driver.find_element(By.CSS_SELECTOR, 'form.logout button[type="submit"]').click)
    check('logout: to the login', '/login', path_of())
    check('logout: the session cookie gone', '', session_cookie())
    open_url('/sites')
    check('after logout: /sites redirects to', '/login', path_of())
    done('logout', 'logged-out')
finally:
    driver.quit()
    with open(COUNTS, 'w', encoding='utf-8') as f:
        f.write('%d %d\n' % (passed, failed))
