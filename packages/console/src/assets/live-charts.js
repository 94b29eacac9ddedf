// Redraws the gateway page's charts every 5 s from the server-rendered fragment (no chart library).
// Without this script the page still shows the charts as of its load.
const box = document.getElementById('live-charts');
if (box) {
  setInterval(async () => {
    if (document.hidden) return;
    try {
      const res = await fetch(box.dataset.src, { credentials: 'same-origin' });
      if (res.ok && res.headers.get('content-type')?.startsWith('text/html'))
        box.innerHTML = await res.text();
    } catch {}
  }, 5000);
}
