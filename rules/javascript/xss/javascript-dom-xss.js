/* global DOMPurify */
const banner = document.getElementById("banner");

function showGreeting() {
  const name = new URLSearchParams(window.location.search).get("name");
  // ruleid: javascript-dom-xss
  banner.innerHTML = "<b>Welcome " + name + "</b>";
  // ok: javascript-dom-xss
  banner.textContent = "Welcome " + name;
  // ok: javascript-dom-xss
  banner.innerHTML = DOMPurify.sanitize("<b>" + name + "</b>");
}

function showTab() {
  const tab = decodeURIComponent(location.hash.slice(1));
  // ruleid: javascript-dom-xss
  document.write("<h2>" + tab + "</h2>");
}

window.addEventListener("message", (event) => {
  // ruleid: javascript-dom-xss
  banner.insertAdjacentHTML("beforeend", event.data.html);
});

function staticBanner() {
  // ok: javascript-dom-xss
  banner.innerHTML = "<b>Maintenance tonight</b>";
}

showGreeting();
showTab();
staticBanner();
