/** The ./catena command line: sample server and client mains over Catena's runtime. */
module dev.catena.samples {
    requires dev.catena.core;
    requires dev.catena.openai;
    requires dev.catena.directory.etcd; // catena etcd runs a local member (LocalEtcd); the directory itself is found by scheme
    requires info.picocli;
    requires java.logging;
    requires tools.jackson.databind;
    requires me.tongfei.progressbar;
    opens dev.catena.samples.cli to info.picocli, tools.jackson.databind;
}
