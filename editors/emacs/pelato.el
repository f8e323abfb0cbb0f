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

(require 'cl-lib)
(require 'eglot)
(require 'jsonrpc)
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

;;;; The pipeline

;; The server offers its commands (generate, build, push, deploy, remove,
;; invoke, … — whatever it advertises) as source code actions of kind
;; source.pelato.<verb>, for the task under point and for the whole workflow,
;; so `eglot-code-actions' lists them.  The commands below run them directly.
;; Either way they run asynchronously (a build or a deploy outlasts Eglot's
;; request time-out) and the server reports the outcome in the echo area.

(defcustom pelato-command-finished-functions nil
  "Abnormal hook run when a pelato command finishes.
Each function is called with COMMAND (a string such as \"pelato.gen\"),
ARGUMENTS (the vector sent), RESULT and ERROR (the JSON-RPC error as a
plist, or nil)."
  :type 'hook)

(defvar pelato--running nil
  "The pelato commands still running, as (SERVER . REQUEST-ID) pairs.")

(defun pelato--server ()
  "The Eglot server of the current buffer, or a user error."
  (or (eglot-current-server)
      (user-error "pelato: this buffer is not managed by pelato-lsp (M-x eglot)")))

(defun pelato--capability (server &rest path)
  "The server capability of SERVER at PATH (keywords)."
  (let ((caps (eglot--capabilities server)))
    (while (and path caps)
      (setq caps (plist-get caps (pop path))))
    caps))

(defun pelato-server-commands (&optional server)
  "The commands SERVER (default: the current buffer's) advertises."
  (append (pelato--capability (or server (pelato--server)) :executeCommandProvider :commands) nil))

(defun pelato-verbs (&optional server)
  "The verbs of the pelato.<verb> commands SERVER advertises."
  (delq nil (mapcar (lambda (c)
                      (and (string-prefix-p "pelato." c)
                           (not (equal c "pelato.createFile"))
                           (substring c (length "pelato."))))
                    (pelato-server-commands server))))

(defun pelato--execute (server command arguments)
  "Run COMMAND with ARGUMENTS (a vector) on SERVER asynchronously.
pelato.invoke without an input asks for it first."
  (let ((args (and (vectorp arguments) (> (length arguments) 0) (aref arguments 0))))
    (when (and (equal command "pelato.invoke") (listp args) (not (plist-member args :input)))
      (setq args (append args (list :input (read-string
                                            (format "pelato: input for %s: "
                                                    (or (plist-get args :task) "the task"))))))
      (setq arguments (vector args)))
    (let (id)
      (setq id
            (car (apply
                  ;; The internal function returns the request's id, which
                  ;; `pelato-cancel' needs; the public one returns nil.
                  (if (fboundp 'jsonrpc--async-request-1) #'jsonrpc--async-request-1 #'jsonrpc-async-request)
                  server :workspace/executeCommand
                  (list :command command :arguments arguments)
                  :timeout nil
                  :success-fn (lambda (result)
                                (setq pelato--running (delete (cons server id) pelato--running))
                                (run-hook-with-args 'pelato-command-finished-functions
                                                    command arguments result nil))
                  :error-fn (lambda (err)
                              (setq pelato--running (delete (cons server id) pelato--running))
                              ;; RequestFailed (-32803) and RequestCancelled (-32800)
                              ;; were shown by the server already.
                              (unless (memql (plist-get err :code) '(-32803 -32800))
                                (message "pelato: %s: %s" command (plist-get err :message)))
                              (run-hook-with-args 'pelato-command-finished-functions
                                                  command arguments nil err))
                  nil)))
      (when id
        (push (cons server id) pelato--running))
      id)))

;; Code actions and lenses that carry a pelato command run through
;; `pelato--execute' too: asynchronously, with the input prompt of invoke.
(cl-defmethod eglot-execute-command :around (server command arguments)
  "Run pelato's commands asynchronously; others as Eglot does."
  (if (string-prefix-p "pelato." (format "%s" command))
      (pelato--execute server (format "%s" command) arguments)
    (cl-call-next-method)))

(defun pelato-cancel ()
  "Cancel the pelato commands still running."
  (interactive)
  (if (null pelato--running)
      (message "pelato: no command is running")
    (dolist (r pelato--running)
      (jsonrpc-notify (car r) :$/cancelRequest (list :id (cdr r))))
    (message "pelato: cancelled %d command(s)" (length pelato--running))
    (setq pelato--running nil)))

(defun pelato-run (verb &optional all input)
  "Run the server's command pelato.VERB for the task at point.
With ALL (interactively, a prefix argument) run it for the whole
workflow.  The server names the task: its source code actions of kind
source.pelato.VERB at point; when several tasks share a task file,
choose one.  INPUT is pelato.invoke's input (asked for when nil)."
  (interactive
   (list (completing-read "pelato command: " (pelato-verbs) nil t)
         current-prefix-arg nil))
  (let* ((server (pelato--server))
         (name (concat "pelato." verb)))
    (unless (member name (pelato-server-commands server))
      (user-error "pelato: the server does not offer %s (it offers: %s)"
                  name (mapconcat #'identity (pelato-verbs server) ", ")))
    (let* ((pos (eglot--pos-to-lsp-position (point)))
           (actions (jsonrpc-request
                     server :textDocument/codeAction
                     (list :textDocument (eglot--TextDocumentIdentifier)
                           :range (list :start pos :end pos)
                           :context (list :diagnostics []
                                          :only (vector (concat "source.pelato." verb))))))
           (task-cmds nil)
           (all-cmd nil))
      (mapc (lambda (a)
              (let* ((cmd (if (stringp (plist-get a :command)) a (plist-get a :command)))
                     (args (and (vectorp (plist-get cmd :arguments))
                                (aref (plist-get cmd :arguments) 0))))
                (when (equal (plist-get cmd :command) name)
                  (if (member (plist-get args :task) '(nil ""))
                      (setq all-cmd cmd)
                    (push cmd task-cmds)))))
            actions)
      (setq task-cmds (nreverse task-cmds))
      (let ((cmd
             (cond
              (all (or all-cmd (user-error "pelato: %s runs for one task only: run it without a prefix argument" name)))
              ((null task-cmds)
               (user-error "pelato: no task at point%s"
                           (if all-cmd " (with a prefix argument it runs for the whole workflow)" "")))
              ((null (cdr task-cmds)) (car task-cmds))
              (t (let* ((names (mapcar (lambda (c) (plist-get (aref (plist-get c :arguments) 0) :task)) task-cmds))
                        (pick (completing-read (format "%s: which task? " name) names nil t)))
                   (nth (cl-position pick names :test #'equal) task-cmds))))))
        (let ((args (copy-sequence (aref (plist-get cmd :arguments) 0))))
          (when input
            (setq args (plist-put args :input input)))
          (pelato--execute server name (vector args)))))))

(defmacro pelato--define-command (fn verb doc)
  "Define command FN running pelato.VERB, documented by DOC."
  `(defun ,fn (&optional all)
     ,(concat doc "\nFor the task at point; with a prefix argument ALL, for the whole workflow.")
     (interactive "P")
     (pelato-run ,verb all)))

(pelato--define-command pelato-generate "gen" "Generate the task's Go project under gen/.")
(pelato--define-command pelato-build "build" "Build the task's Wasm component.")
(pelato--define-command pelato-push "push" "Push the task's component to the registry.")
(pelato--define-command pelato-deploy "deploy" "Deploy the task to the wasmCloud lattice.")
(pelato--define-command pelato-remove "remove" "Remove the task from the lattice.")
(pelato--define-command pelato-status "status" "Show the task's deployment status.")

(defun pelato-invoke (input)
  "Run the task at point locally once with INPUT and show its result."
  (interactive (list (read-string "pelato: input: ")))
  (pelato-run "invoke" nil input))

(provide 'pelato)
;;; pelato.el ends here
