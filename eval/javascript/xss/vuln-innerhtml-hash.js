const target = document.querySelector("#msg");
target.innerHTML = decodeURIComponent(window.location.hash.substring(1));
