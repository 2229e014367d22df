// expect: h5ser::inspect takes h5ser::trusted or h5ser::untrusted
#include <h5ser/h5ser.hpp>
int main() { (void)h5ser::inspect<h5ser::compressed>("m.h5"); }
