//! The stdio transport: `lsp-server`'s framing ([`Message::read`] and
//! [`Message::write`]) on two threads. Unlike `Connection::stdio`, a
//! message whose body is not a JSON-RPC message is logged and skipped (its
//! frame was read whole, so the stream stays in step); a broken header
//! ends the input.

use std::io::{self, BufRead, Write};
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender, bounded};
use lsp_server::Message;

/// The two ends of the connection and its threads.
pub struct Stdio {
    /// Messages to the client.
    pub sender: Sender<Message>,
    /// Messages from the client.
    pub receiver: Receiver<Message>,
    reader: JoinHandle<()>,
    writer: JoinHandle<io::Result<()>>,
}

/// Starts reading stdin and writing stdout; `log` says what was skipped.
pub fn stdio(log: fn(&str)) -> Stdio {
    let (to_client, outgoing) = bounded::<Message>(16);
    let (incoming, from_client) = bounded::<Message>(16);
    let writer = std::thread::spawn(move || {
        let stdout = io::stdout();
        let mut out = stdout.lock();
        for m in outgoing {
            m.write(&mut out)?;
            out.flush()?;
        }
        Ok(())
    });
    let reader = std::thread::spawn(move || {
        let stdin = io::stdin();
        let mut input = stdin.lock();
        read_loop(&mut input, &incoming, log);
    });
    Stdio {
        sender: to_client,
        receiver: from_client,
        reader,
        writer,
    }
}

/// Reads messages until the end of input, an `exit` or a broken frame.
pub fn read_loop(input: &mut dyn BufRead, to: &Sender<Message>, log: fn(&str)) {
    loop {
        let mut input = &mut *input;
        match Message::read(&mut input) {
            Ok(Some(m)) => {
                let exit = matches!(&m, Message::Notification(n) if n.method == "exit");
                if to.send(m).is_err() || exit {
                    return;
                }
            }
            Ok(None) => return,
            Err(e) if e.to_string().starts_with("malformed LSP payload") => {
                log(&format!("skipped a message that is not JSON-RPC: {e}"));
            }
            Err(e) => {
                log(&format!("input ended: {e}"));
                return;
            }
        }
    }
}

impl Stdio {
    /// Waits for the writer to send what is queued (drop the senders
    /// first). The reader is not waited for: it may block on stdin.
    ///
    /// # Errors
    /// Writing to stdout failed.
    pub fn join(self) -> io::Result<()> {
        let Stdio {
            sender,
            receiver,
            reader,
            writer,
        } = self;
        drop(sender);
        drop(receiver);
        drop(reader);
        writer
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the writer thread stopped")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(body: &str) -> String {
        format!("Content-Length: {}\r\n\r\n{body}", body.len())
    }

    #[test]
    fn a_bad_body_is_skipped_and_a_bad_header_ends() {
        let input = [
            frame("{not json"),
            frame(r#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#),
            "Content-Length: x\r\n\r\n".to_owned(),
            frame(r#"{"jsonrpc":"2.0","method":"never","params":{}}"#),
        ]
        .concat();
        let (tx, rx) = crossbeam_channel::unbounded();
        read_loop(&mut input.as_bytes(), &tx, |_| {});
        drop(tx);
        let got: Vec<Message> = rx.iter().collect();
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(matches!(&got[0], Message::Notification(n) if n.method == "initialized"));
    }
}
