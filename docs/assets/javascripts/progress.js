// Reading progress, kept in this browser only (localStorage): no account, no server.
// A page is "done", "doing" (in progress) or "skipped"; the state shows in the page header,
// on the roadmap map, and can be exported to / imported from a JSON file.
(function () {
  const KEY = "dl-roadmap-progress-v1";
  const STATES = ["done", "doing", "skipped"];
  const TEXT = {
    en: {
      label: "Your progress",
      done: "Done", doing: "In progress", skipped: "Skipped", clear: "Clear",
      summary: (done, doing, total) => `${done} of ${total} pages done, ${doing} in progress.`,
      export: "Export progress", import: "Import progress",
      imported: (n) => `Imported progress for ${n} pages.`,
      invalid: "This file is not a progress export of this site.",
    },
    zh: {
      label: "学习进度",
      done: "已完成", doing: "学习中", skipped: "已跳过", clear: "清除",
      summary: (done, doing, total) => `共 ${total} 页，已完成 ${done} 页，学习中 ${doing} 页。`,
      export: "导出进度", import: "导入进度",
      imported: (n) => `已导入 ${n} 个页面的进度。`,
      invalid: "这个文件不是本站导出的学习进度。",
    },
  };

  function text() {
    return document.documentElement.lang.startsWith("zh") ? TEXT.zh : TEXT.en;
  }

  function load() {
    try {
      const state = JSON.parse(localStorage.getItem(KEY) || "{}");
      return state && typeof state === "object" ? state : {};
    } catch (error) {
      return {};
    }
  }

  function save(state) {
    localStorage.setItem(KEY, JSON.stringify(state));
  }

  function validate(data) {
    if (!data || data.version !== 1 || typeof data.progress !== "object" || data.progress === null) return null;
    const clean = {};
    for (const [page, value] of Object.entries(data.progress)) {
      if (typeof page !== "string" || !STATES.includes(value)) return null;
      clean[page] = value;
    }
    return clean;
  }

  function renderWidgets(root, state) {
    const t = text();
    root.querySelectorAll(".progress-widget[data-page]").forEach((widget) => {
      const page = widget.dataset.page;
      widget.replaceChildren();
      widget.setAttribute("role", "group");
      widget.setAttribute("aria-label", t.label);
      const label = document.createElement("span");
      label.className = "progress-widget__label";
      label.textContent = t.label + ":";
      widget.append(label);
      for (const value of STATES) {
        const button = document.createElement("button");
        button.type = "button";
        button.className = `md-button progress-widget__button progress-widget__button--${value}`;
        button.dataset.state = value;
        button.textContent = t[value];
        button.setAttribute("aria-pressed", String(state[page] === value));
        button.addEventListener("click", () => {
          const next = load();
          if (next[page] === value) delete next[page];
          else next[page] = value;
          save(next);
          render(document.body);
        });
        widget.append(button);
      }
    });
  }

  function renderMap(root, state) {
    const t = text();
    root.querySelectorAll(".roadmap-map__node[data-page]").forEach((node) => {
      for (const value of STATES) node.classList.toggle(`progress--${value}`, state[node.dataset.page] === value);
      // The state in words inside the box, so it is part of the link's accessible name.
      const status = node.querySelector(".roadmap-map__status");
      if (status) status.textContent = STATES.includes(state[node.dataset.page]) ? t[state[node.dataset.page]] : "";
    });
    root.querySelectorAll(".progress-summary[data-total]").forEach((summary) => {
      const values = Object.values(state);
      summary.textContent = text().summary(
        values.filter((v) => v === "done").length,
        values.filter((v) => v === "doing").length,
        Number(summary.dataset.total),
      );
    });
  }

  function renderTools(root) {
    const t = text();
    root.querySelectorAll(".progress-tools").forEach((tools) => {
      if (tools.dataset.ready) return;
      tools.dataset.ready = "1";
      const exportButton = document.createElement("button");
      exportButton.type = "button";
      exportButton.className = "md-button";
      exportButton.textContent = t.export;
      exportButton.addEventListener("click", () => {
        const blob = new Blob([JSON.stringify({ version: 1, progress: load() }, null, 2)], { type: "application/json" });
        const link = document.createElement("a");
        link.href = URL.createObjectURL(blob);
        link.download = "dl-roadmap-progress.json";
        link.click();
        URL.revokeObjectURL(link.href);
      });
      const importLabel = document.createElement("label");
      importLabel.className = "md-button";
      importLabel.textContent = t.import;
      const input = document.createElement("input");
      input.type = "file";
      input.accept = "application/json,.json";
      input.className = "progress-tools__file";
      const message = document.createElement("p");
      message.className = "progress-tools__message";
      message.setAttribute("role", "status");
      input.addEventListener("change", async () => {
        const file = input.files && input.files[0];
        if (!file) return;
        let progress = null;
        try {
          progress = validate(JSON.parse(await file.text()));
        } catch (error) {
          progress = null;
        }
        if (progress === null) {
          message.textContent = t.invalid;
        } else {
          save(progress);
          message.textContent = t.imported(Object.keys(progress).length);
          render(document.body);
        }
        input.value = "";
      });
      importLabel.append(input);
      tools.append(exportButton, importLabel, message);
    });
  }

  function render(root) {
    const state = load();
    renderWidgets(root, state);
    renderMap(root, state);
    renderTools(root);
  }

  // This script comes at the end of <body>, after everything it fills in, so it renders at once.
  // A DOMContentLoaded listener would run in the task that also holds the page's first style and
  // layout, and Lighthouse's model then ties that whole task to this script's download.
  render(document.body);
})();
