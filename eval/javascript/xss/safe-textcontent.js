const target = document.querySelector("#msg");
target.textContent = decodeURIComponent(window.location.hash.substring(1));
