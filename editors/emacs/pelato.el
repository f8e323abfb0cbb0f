;;; pelato.el --- Eglot configuration for pelato-lsp  -*- lexical-binding: t; -*-

;; Works with: Emacs 28 + Eglot 1.9 (Debian 12's emacs and elpa-eglot) and later.

;;; Commentary:

;; Connects pelato's language server, `pelato-lsp', to the files of a pelato
;; project through Eglot:
;;
;; - `pelato-workflow-mode' for a project's workflow.yaml (derived from
;;   `yaml-mode' when that is installed, from `prog-mode' otherwise);
;; - `pelato-task-mode' for the Go task files under the project's tasks/
;;   folder (derived from `go-mode' when installed, from `prog-mode'
;;   otherwise).
;;
;; Both modes are chosen automatically (through `magic-mode-alist') only for
;; files that belong to a pelato project: a workflow.yaml, or a .go file below
;; a tasks/ folder whose parent holds a workflow.yaml.  That folder is the
;; project root Eglot gives the server, whatever version control says.
;; Diagnostics show through Flymake; completion through
;; `completion-at-point'; quick fixes through `eglot-code-actions'.
;;
;; Install: put this file on `load-path' and add to your init file
;;
;;   (require 'pelato)
;;
;; or load it directly: (load "/path/to/pelato.el").  Set
;; `pelato-lsp-program' if pelato-lsp is not on PATH.  Because Eglot runs one
;; server per buffer, task files use pelato-lsp instead of gopls.

;;; Code:

(require 'eglot)
(require 'project)
(require 'subr-x)

(defgroup pelato nil
  "Editor support for pelato projects."
  :group 'tools
  :prefix "pelato-")

(defcustom pelato-lsp-program "pelato-lsp"
  "The pelato language server: a name on `exec-path' or an absolute path."
  :type 'string)

(defcustom pelato-lsp-args nil
  "Extra command-line arguments for `pelato-lsp-program'."
  :type '(repeat string))

(defcustom pelato-eglot-ensure t
  "When non-nil, start Eglot in every pelato buffer automatically."
  :type 'boolean)

(defun pelato-project-root (file)
  "Return the pelato project root of FILE, or nil.
The root is the folder holding workflow.yaml.  FILE belongs to a
project when it is that workflow.yaml, or a .go file below the
root's tasks/ folder."
  (when file
    (setq file (expand-file-name file))
    (cond
     ((string= (file-name-nondirectory file) "workflow.yaml")
      (file-name-directory file))
     ((string-suffix-p ".go" file)
      (let ((dir (file-name-directory file))
            (root nil))
        (while (and dir (not root))
          (let ((parent (file-name-directory (directory-file-name dir))))
            (if (and (string= (file-name-nondirectory (directory-file-name dir)) "tasks")
                     (file-regular-p (expand-file-name "workflow.yaml" parent)))
                (setq root parent)
              (setq dir (unless (equal parent dir) parent)))))
        root)))))

;; Parents: yaml-mode and go-mode when installed, else prog-mode.
(defalias 'pelato--workflow-parent-mode
  (if (require 'yaml-mode nil t) 'yaml-mode 'prog-mode))
(defalias 'pelato--task-parent-mode
  (if (require 'go-mode nil t) 'go-mode 'prog-mode))

(defvar pelato-workflow-mode-syntax-table
  (let ((st (make-syntax-table)))
    (modify-syntax-entry ?# "<" st)
    (modify-syntax-entry ?\n ">" st)
    (modify-syntax-entry ?\" "\"" st)
    (modify-syntax-entry ?' "\"" st)
    (modify-syntax-entry ?_ "_" st)
    (modify-syntax-entry ?- "_" st)
    st)
  "Syntax table of `pelato-workflow-mode' when `yaml-mode' is missing.")

;;;###autoload
(define-derived-mode pelato-workflow-mode pelato--workflow-parent-mode "pelato-workflow"
  "Major mode for a pelato project's workflow.yaml."
  (unless (derived-mode-p 'yaml-mode)
    (set-syntax-table pelato-workflow-mode-syntax-table)
    (setq-local comment-start "# ")
    (setq-local comment-start-skip "#+\\s-*")
    (setq-local indent-tabs-mode nil)))

;;;###autoload
(define-derived-mode pelato-task-mode pelato--task-parent-mode "pelato-task"
  "Major mode for a pelato task file (tasks/*.go)."
  (unless (derived-mode-p 'go-mode)
    (modify-syntax-entry ?/ ". 124b")
    (modify-syntax-entry ?* ". 23")
    (modify-syntax-entry ?\n "> b")
    (modify-syntax-entry ?` "\"")
    (setq-local comment-start "// ")
    (setq-local comment-start-skip "\\(//+\\|/\\*+\\)\\s-*")
    (setq-local indent-tabs-mode t)))

(defun pelato--workflow-file-p ()
  "Non-nil when the current buffer visits a pelato workflow.yaml."
  (and buffer-file-name
       (string= (file-name-nondirectory buffer-file-name) "workflow.yaml")))

(defun pelato--task-file-p ()
  "Non-nil when the current buffer visits a pelato task file."
  (and buffer-file-name
       (string-suffix-p ".go" buffer-file-name)
       (pelato-project-root buffer-file-name)))

(add-to-list 'magic-mode-alist '(pelato--workflow-file-p . pelato-workflow-mode))
(add-to-list 'magic-mode-alist '(pelato--task-file-p . pelato-task-mode))

(defun pelato--project-find (_dir)
  "Give Eglot the pelato project root of the current buffer.
Used in `project-find-functions' only while Eglot looks for a
project (`eglot-lsp-context'), so other project commands keep
their usual roots."
  (when (and (bound-and-true-p eglot-lsp-context)
             (derived-mode-p 'pelato-workflow-mode 'pelato-task-mode))
    (when-let ((root (pelato-project-root buffer-file-name)))
      (cons 'transient root))))

(add-hook 'project-find-functions #'pelato--project-find)

(defun pelato--server-program (&optional _interactive)
  "The command line that starts pelato-lsp."
  (cons pelato-lsp-program pelato-lsp-args))

;; One server per project for both modes.  Eglot 1.9 sends one languageId per
;; server; pelato-lsp tells the files apart by their paths.
(add-to-list 'eglot-server-programs
             '(((pelato-workflow-mode :language-id "yaml")
                (pelato-task-mode :language-id "go"))
               . pelato--server-program))

(defun pelato--maybe-eglot ()
  "Start Eglot in this buffer when `pelato-eglot-ensure' says so."
  (when pelato-eglot-ensure
    (eglot-ensure)))

(add-hook 'pelato-workflow-mode-hook #'pelato--maybe-eglot)
(add-hook 'pelato-task-mode-hook #'pelato--maybe-eglot)

(provide 'pelato)
;;; pelato.el ends here
