// Sort the coins table by a column when its header is clicked; empty values (no data) stay last.
(function () {
  const table = document.getElementById("coins");
  if (!table) return;
  const headers = Array.from(table.querySelectorAll("th"));
  headers.forEach(function (header, column) {
    header.addEventListener("click", function () {
      const ascending = header.getAttribute("aria-sort") !== "ascending";
      headers.forEach(function (other) { other.removeAttribute("aria-sort"); });
      header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      const numeric = header.dataset.type === "number";
      const body = table.tBodies[0];
      const rows = Array.from(body.rows);
      rows.sort(function (a, b) {
        const x = a.cells[column].dataset.value;
        const y = b.cells[column].dataset.value;
        if (x === "" || y === "") return (x === "") - (y === "");
        const order = numeric ? Number(x) - Number(y) : x.toLowerCase().localeCompare(y.toLowerCase());
        return ascending ? order : -order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
})();
