//! Misbehaves for tests: a valid component that exports `greet` instead of the wafer handler, so
//! the platform must refuse it at upload.

wit_bindgen::generate!({
    inline: "
        package test:other;

        world other {
            export greet: func() -> string;
        }
    ",
});

struct Other;

impl Guest for Other {
    fn greet() -> String {
        "Hello from the wrong world".to_owned()
    }
}

export!(Other);
