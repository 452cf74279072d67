/** What a walk of the lesson does, step by step: the suites call these between their checks. */
export interface LessonWalk {
  /** The lesson's step: unpack containerd into /usr/local (and its unit into /etc/systemd/system). */
  installContainerd(): Promise<void>;
  /** The lesson's step: `systemctl enable --now containerd` (or the lab's supervised equivalent). */
  startContainerd(): Promise<void>;
  /** The lesson's step: `systemctl restart containerd`. */
  restartContainerd(): Promise<void>;
  /** The lesson's step: runc into /usr/local/sbin. */
  installRunc(): Promise<void>;
  /** The lesson's step: /etc/containerd/config.toml. */
  writeConfig(): Promise<void>;
  /** The lesson's step: nerdctl and its bash completion. */
  installNerdctl(): Promise<void>;
  /** The lesson's step: the CNI plugins into /opt/cni/bin. */
  installCniPlugins(): Promise<void>;
}
