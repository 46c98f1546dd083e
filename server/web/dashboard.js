/*  dashboard.js -- draws the HQ dashboard's charts (served as
    /static/dashboard.js; see server/dn_webpage.c).

    The page carries no inline script (its Content-Security-Policy is
    default-src 'self'): each chart's data travels in a
    <script type="application/json" id="chart-..."> block beside its
    <canvas>, as the server wrote it from the very query whose table is on
    the page.  This file reads those blocks and draws them with Chart.js 4
    (the global `Chart` of /static/vendor/chart.umd.min.js, vendored from the
    npm registry).  Nothing is fetched: the figures are the page's own.

    A block: {"canvas": the canvas's id, "type": "bar" | "line" |
    "doughnut", "title", "labels": [...], "series": [{"label", "values":
    [decimal text, as the commands give amounts]}]}.  The decimal text is
    turned into a number only to draw a bar's height; the tables show the
    exact figures.
*/
'use strict';

(function () {
    /* Colours readable on white and in print, one a series (or slice). */
    const PALETTE = ['#2f6db5', '#d9822b', '#3a9a5b', '#b8434f', '#7a5cb1',
                     '#4aa3a8', '#a37b2c', '#6b6b6b', '#c45ca0', '#5c7a29'];

    function colour(i) {
        return PALETTE[i % PALETTE.length];
    }

    function toNumber(text) {
        const n = Number(text);
        return Number.isFinite(n) ? n : 0;
    }

    function datasets(spec) {
        const series = Array.isArray(spec.series) ? spec.series : [];
        return series.map(function (s, i) {
            const values = (s.values || []).map(toNumber);
            if (spec.type === 'doughnut') {
                return {
                    label: s.label,
                    data: values,
                    backgroundColor: values.map(function (_, j) { return colour(j); })
                };
            }
            return {
                label: s.label,
                data: values,
                backgroundColor: colour(i),
                borderColor: colour(i),
                fill: false
            };
        });
    }

    function draw(block) {
        let spec;
        try {
            spec = JSON.parse(block.textContent);
        } catch (e) {
            return; /* a block that is not JSON draws nothing; the table stays */
        }
        const canvas = document.getElementById(spec.canvas);
        if (!canvas || typeof Chart === 'undefined')
            return;
        const round = spec.type === 'doughnut';
        /* eslint-disable-next-line no-new */
        new Chart(canvas, {
            type: spec.type,
            data: {labels: spec.labels || [], datasets: datasets(spec)},
            options: {
                responsive: true,
                maintainAspectRatio: false,
                animation: false, /* drawn once, printable at once */
                plugins: {
                    title: {display: Boolean(spec.title), text: spec.title},
                    legend: {display: round || (spec.series || []).length > 1}
                },
                scales: round ? {} : {
                    x: {stacked: true},
                    y: {stacked: true, beginAtZero: true}
                }
            }
        });
    }

    function start() {
        const blocks = document.querySelectorAll('script[type="application/json"][id^="chart-"]');
        Array.prototype.forEach.call(blocks, draw);
    }

    if (document.readyState === 'loading')
        document.addEventListener('DOMContentLoaded', start);
    else
        start();
})();
