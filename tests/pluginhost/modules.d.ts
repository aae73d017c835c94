// react-router 5 ships no types; the host only hands its modules to SystemJS and mounts its Router.
declare module 'react-router';
declare module 'react-router-dom';
