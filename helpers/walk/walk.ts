/** What a walk of the lesson does, step by step: the suites call these between their checks. */
export interface LessonWalk {
  /** Step 1: unpack containerd into /usr/local (and its unit into /etc/systemd/system). */
  installContainerd(): Promise<void>;
  /** Step 1: `systemctl enable --now containerd` (or the lab's supervised equivalent). */
  startContainerd(): Promise<void>;
  /** Step 4: `systemctl restart containerd`. */
  restartContainerd(): Promise<void>;
  /** Step 3: runc into /usr/local/sbin. */
  installRunc(): Promise<void>;
  /** Step 4: /etc/containerd/config.toml. */
  writeConfig(): Promise<void>;
  /** Step 5: nerdctl and its bash completion. */
  installNerdctl(): Promise<void>;
  /** Step 6: the CNI plugins into /opt/cni/bin. */
  installCniPlugins(): Promise<void>;
}
