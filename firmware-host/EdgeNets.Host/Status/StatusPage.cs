namespace EdgeNets.Host.Status;

/// <summary>
/// The status page: one self-contained HTML file (no external scripts, fonts or styles, so it works on a device
/// without internet). It polls /status.json, reloads /input.bmp when a newer input is there, draws the score history on
/// a canvas and shows /model.json once.
/// </summary>
public static class StatusPage
{
    public static readonly byte[] Html = """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>edgenets-host</title>
        <link rel="icon" href="data:,">
        <style>
          body { font: 15px system-ui, sans-serif; margin: 1.5em; color: #222; background: #fafafa; }
          h1 { font-size: 1.3em; margin: 0 0 0.8em; }
          h2 { font-size: 1.05em; margin: 1.2em 0 0.4em; }
          .row { display: flex; gap: 2em; flex-wrap: wrap; align-items: flex-start; }
          figure { margin: 0; }
          #input { width: 256px; height: 256px; image-rendering: pixelated; background: #ddd; border: 1px solid #bbb; }
          figcaption { font-size: 0.85em; color: #666; }
          #class { font-size: 2.4em; font-weight: 600; }
          table { border-collapse: collapse; }
          td, th { padding: 0.15em 0.8em 0.15em 0; text-align: left; vertical-align: top; }
          th { font-weight: 500; color: #555; }
          #chart { background: #fff; border: 1px solid #bbb; max-width: 100%; }
          #state { color: #a00; }
          code { font-size: 0.9em; }
        </style>
        </head>
        <body>
        <h1>edgenets-host <span id="state"></span></h1>
        <div class="row">
          <figure>
            <img id="input" alt="the model input" width="256" height="256">
            <figcaption>the model input (after crop and resize), prediction <span id="input-prediction">-</span></figcaption>
          </figure>
          <div>
            <div id="class">-</div>
            <div id="score"></div>
            <table>
              <tr><th>fps</th><td id="fps">-</td></tr>
              <tr><th>latency p50</th><td id="p50">-</td></tr>
              <tr><th>latency p99</th><td id="p99">-</td></tr>
              <tr><th>frames</th><td id="frames">-</td></tr>
              <tr><th>predictions</th><td id="predictions">-</td></tr>
              <tr><th>dropped</th><td id="dropped">-</td></tr>
              <tr><th>model reloads</th><td id="reloads">-</td></tr>
            </table>
            <p><a href="/metrics">/metrics</a> (Prometheus)</p>
          </div>
        </div>
        <h2>Score history</h2>
        <canvas id="chart" width="720" height="200"></canvas>
        <h2>Model</h2>
        <table id="card"></table>
        <script>
        "use strict";
        const $ = id => document.getElementById(id);
        const us = v => v === null ? "-" : v >= 1000 ? (v / 1000).toFixed(2) + " ms" : v.toFixed(1) + " \u00b5s";
        const color = c => c < 0 ? "#333" : "hsl(" + ((c * 137) % 360) + ", 65%, 42%)";
        let shownInput = -1;

        function chart(history) {
          const canvas = $("chart"), g = canvas.getContext("2d");
          const w = canvas.width, h = canvas.height, pad = 24;
          g.clearRect(0, 0, w, h);
          g.strokeStyle = "#ddd"; g.fillStyle = "#888"; g.font = "11px sans-serif";
          const values = history.map(p => p[2]);
          const classes = history.length > 0 && history[history.length - 1][1] >= 0;
          let lo = classes ? 0 : Math.min(...values), hi = classes ? 1 : Math.max(...values);
          if (!(hi > lo)) { lo -= 0.5; hi += 0.5; }
          for (let i = 0; i <= 4; i++) {
            const y = pad + (h - 2 * pad) * i / 4;
            g.beginPath(); g.moveTo(pad, y); g.lineTo(w - 4, y); g.stroke();
            g.fillText((hi - (hi - lo) * i / 4).toPrecision(3), 0, y + 4);
          }
          const n = history.length;
          const x = i => pad + (w - pad - 4) * (n > 1 ? i / (n - 1) : 1);
          const y = v => pad + (h - 2 * pad) * (hi - v) / (hi - lo);
          for (let i = 0; i < n; i++) {
            g.fillStyle = color(history[i][1]);
            g.fillRect(x(i) - 1.5, y(history[i][2]) - 1.5, 3, 3);
          }
          canvas.dataset.points = String(n);
        }

        function show(s) {
          $("state").textContent = "";
          const value = s.class === undefined ? null : s.class < 0 ? "value " + s.score : "class " + s["class"];
          $("class").textContent = value === null ? "-" : value;
          $("class").style.color = color(s.class === undefined ? -1 : s.class);
          $("score").textContent = s.class >= 0 ? "score " + s.score.toFixed(4) : "";
          $("fps").textContent = s.fps === null ? "-" : s.fps.toFixed(1);
          $("p50").textContent = us(s.latency_p50_us);
          $("p99").textContent = us(s.latency_p99_us);
          $("frames").textContent = s.frames;
          $("predictions").textContent = s.predictions;
          $("dropped").textContent = s.dropped;
          $("reloads").textContent = s.model_reloads;
          chart(s.history);
          if (s.input_prediction >= 0 && s.input_prediction !== shownInput) {
            shownInput = s.input_prediction;
            $("input").src = "/input.bmp?p=" + shownInput;
            $("input").dataset.prediction = String(shownInput);
            $("input-prediction").textContent = shownInput;
          }
        }

        async function poll() {
          try {
            const response = await fetch("/status.json", { cache: "no-store" });
            show(await response.json());
          } catch (e) {
            $("state").textContent = "(host not answering)";
          }
          setTimeout(poll, 250);
        }

        async function card() {
          const m = await (await fetch("/model.json", { cache: "no-store" })).json();
          const rows = [["file", m.file], ["operators", m.ops], ["weights", m.weight_bytes + " bytes"]];
          for (const t of m.inputs) rows.push(["input " + t.name, t.type + " [" + t.shape.join(", ") + "]"]);
          for (const t of m.outputs) rows.push(["output " + t.name, t.type + " [" + t.shape.join(", ") + "]"]);
          for (const [k, v] of Object.entries(m.metadata)) rows.push([k, v]);
          const table = $("card");
          for (const [k, v] of rows) {
            const tr = table.insertRow(), th = document.createElement("th");
            th.textContent = k; tr.appendChild(th); tr.insertCell().textContent = v;
          }
        }

        card();
        poll();
        </script>
        </body>
        </html>
        """u8.ToArray();
}
